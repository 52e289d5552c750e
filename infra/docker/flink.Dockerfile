# Flink with the same jars and plugins as the local stack (the dependencies of
# infra/maven/flink/pom.xml, versions from infra/maven/pom.xml; a unit test
# checks both): Kafka, the registry's Avro format, and the lake's Iceberg
# runtime with S3FileIO and the catalog's JDBC drivers (SQLite, PostgreSQL).
# Plus the project installed into the image's Python (PyFlink and telemetry.*),
# the job script and schemas, and the job's JVM functions (flink/jvm) built
# from source. The same image runs the application-mode JobManager and the
# TaskManagers on Kubernetes (infra/k8s/flink-deployment.yaml) and in Docker
# compose:
#
#   /opt/telemetry                 the project's sources, installed (not editable)
#                                  into /opt/venv with schemas/, infra/ and flink/
#                                  inside the package (telemetry._bundled)
#   /opt/flink/usrlib/telemetry_job.py                      -py of the PythonDriver
#   /opt/flink/usrlib/telemetry-flink-functions-0.1.0.jar   --jar of the job
FROM maven:3.9-eclipse-temurin-17 AS jvm
COPY flink/jvm /src/flink/jvm
COPY schemas /src/schemas
RUN mvn -B -q -f /src/flink/jvm/pom.xml package

FROM flink:2.2.0-scala_2.12-java17

ARG MAVEN=https://repo.maven.apache.org/maven2
ARG FLINK=2.2.0
ARG KAFKA_CONNECTOR=5.0.0-2.2
ARG KAFKA_CLIENTS=4.2.0
ARG HADOOP=3.4.2
ARG ICEBERG=1.11.0
ARG SQLITE_JDBC=3.54.1.0
ARG PGJDBC=42.7.14

RUN set -eux; \
    apt-get update; apt-get install -y --no-install-recommends python3 python3-pip python3-venv curl openssl; \
    rm -rf /var/lib/apt/lists/*; \
    python3 -m venv /opt/venv; /opt/venv/bin/pip install --no-cache-dir "apache-flink==${FLINK}"; \
    cp /opt/flink/opt/flink-python-*.jar /opt/flink/lib/; \
    cd /opt/flink/lib; \
    for jar in \
      org/apache/flink/flink-connector-kafka/${KAFKA_CONNECTOR}/flink-connector-kafka-${KAFKA_CONNECTOR}.jar \
      org/apache/kafka/kafka-clients/${KAFKA_CLIENTS}/kafka-clients-${KAFKA_CLIENTS}.jar \
      org/apache/flink/flink-sql-avro-confluent-registry/${FLINK}/flink-sql-avro-confluent-registry-${FLINK}.jar \
      org/apache/iceberg/iceberg-flink-runtime-2.1/${ICEBERG}/iceberg-flink-runtime-2.1-${ICEBERG}.jar \
      org/apache/iceberg/iceberg-aws-bundle/${ICEBERG}/iceberg-aws-bundle-${ICEBERG}.jar \
      org/xerial/sqlite-jdbc/${SQLITE_JDBC}/sqlite-jdbc-${SQLITE_JDBC}.jar \
      org/apache/hadoop/hadoop-client-api/${HADOOP}/hadoop-client-api-${HADOOP}.jar \
      org/apache/hadoop/hadoop-client-runtime/${HADOOP}/hadoop-client-runtime-${HADOOP}.jar \
      commons-logging/commons-logging/1.3.5/commons-logging-1.3.5.jar \
      org/postgresql/postgresql/${PGJDBC}/postgresql-${PGJDBC}.jar \
    ; do curl -fsSLO "${MAVEN}/${jar}"; done; \
    mkdir -p /opt/flink/plugins/s3-fs-hadoop; \
    cp /opt/flink/opt/flink-s3-fs-hadoop-*.jar /opt/flink/plugins/s3-fs-hadoop/

ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml README.md /opt/telemetry/
COPY telemetry/ /opt/telemetry/telemetry/
COPY producer/ /opt/telemetry/producer/
COPY schemas/ /opt/telemetry/schemas/
COPY infra/ /opt/telemetry/infra/
COPY flink/ /opt/telemetry/flink/
COPY --from=jvm /src/flink/jvm/target/telemetry-flink-functions-0.1.0.jar /opt/flink/usrlib/
RUN set -eux; \
    /opt/venv/bin/pip install --no-cache-dir /opt/telemetry; \
    ln -s "$(/opt/venv/bin/python -c 'from telemetry.core.contract import job_script; print(job_script())')" \
      /opt/flink/usrlib/telemetry_job.py; \
    /opt/venv/bin/python -c "import telemetry.core.job_params, pyflink"
