// Command validate-manifests checks Kubernetes manifests without a cluster.
//
//	validate-manifests -crds DIR FILE.yaml...
//
// Every YAML document of every FILE is checked:
//
//   - Built-in kinds (anything client-go's scheme knows: core/v1, apps/v1,
//     rbac/v1, ...) are decoded STRICTLY into their k8s.io/api Go types with
//     apimachinery's JSON serializer: an unknown or duplicated field, or a value
//     of the wrong type, is an error. Their metadata then goes through
//     apimachinery's ObjectMeta validation (name required and well-formed,
//     labels, annotations).
//
//   - Custom resources are checked against the CRDs found in DIR the way the
//     API server's CRD handler does: the CRD must itself be a valid structural
//     schema; the object is pruned with that structural schema and every field
//     pruning would drop is reported as an unknown field; then the OpenAPI v3
//     schema is validated (types, enums, formats, int-or-string, required...);
//     metadata is validated as for built-ins. Pod templates inside Flink
//     resources are additionally decoded strictly as core/v1 Pods.
//
//   - A document of any other apiVersion/kind is an error: nothing passes
//     unchecked.
//
//   - Built-in kinds of the groups listed in semantics.go then go through the
//     API server's own defaulting, conversion to the internal version and
//     validation (k8s.io/kubernetes/pkg/apis/.../validation): required fields,
//     allowed values, key formats. Other built-in kinds are refused, so that a
//     new kind in the manifests extends this tool instead of passing half-checked.
//
// Not done (it needs a cluster): admission (quotas, policies, webhooks, the
// Flink operator's own validating webhook), checks against other objects
// (does the Secret a pod refers to exist?), and CEL rules
// (x-kubernetes-validations: the tool refuses CRDs that have any).
//
// Output: one line per document, "ok" or the errors, on stdout; exit 1 if any
// document failed, 2 on bad usage or unreadable CRDs.
package main

import (
	"bufio"
	"bytes"
	"context"
	stdjson "encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	crdvalidation "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/validation"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	schemavalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	metavalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/api/validation/path"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// crdVersion is one served version of a CRD, ready to validate objects.
type crdVersion struct {
	source     string
	namespaced bool
	structural *structuralschema.Structural
	validator  schemavalidation.SchemaValidator
}

// defaultNamespace stands in for the one kubectl would fill in.
var defaultNamespace string

// strictCodec decodes JSON into the registered Go types, rejecting unknown
// and duplicate fields (runtime.StrictDecodingError).
var strictCodec = json.NewSerializerWithOptions(
	json.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, json.SerializerOptions{Strict: true},
)

func init() {
	// CRDs themselves are decoded strictly like the built-in kinds.
	utilruntime.Must(apiextensionsv1.AddToScheme(scheme.Scheme))
}

func main() {
	crdDir := flag.String("crds", "", "directory of CustomResourceDefinition YAML files")
	flag.StringVar(&defaultNamespace, "namespace", "default",
		"namespace of namespaced objects that name none (as kubectl apply -n)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: validate-manifests -crds DIR FILE.yaml...")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() == 0 {
		flag.Usage()
		os.Exit(2)
	}
	crds := map[schema.GroupVersionKind]crdVersion{}
	if *crdDir != "" {
		var err error
		if crds, err = loadCRDs(*crdDir); err != nil {
			fmt.Fprintln(os.Stderr, "error:", err)
			os.Exit(2)
		}
	}
	failed := 0
	for _, file := range flag.Args() {
		docs, err := documents(file)
		if err != nil {
			fmt.Printf("%s: %v\n", file, err)
			failed++
			continue
		}
		for i, doc := range docs {
			where := fmt.Sprintf("%s#%d", file, i+1)
			what, errs := validate(doc, crds)
			if len(errs) == 0 {
				fmt.Printf("ok %s %s\n", where, what)
				continue
			}
			failed++
			for _, e := range errs {
				fmt.Printf("error %s %s: %s\n", where, what, e)
			}
		}
	}
	if failed > 0 {
		os.Exit(1)
	}
}

// documents splits a YAML stream into its non-empty documents, each as JSON.
// Duplicate keys are errors (YAMLToJSONStrict).
func documents(file string) ([][]byte, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	reader := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var out [][]byte
	for n := 1; ; n++ {
		raw, err := reader.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		js, err := yaml.YAMLToJSONStrict(raw)
		if err != nil {
			return nil, fmt.Errorf("document %d: %w", n, err)
		}
		if t := bytes.TrimSpace(js); len(t) == 0 || string(t) == "null" {
			continue // only comments or separators
		}
		out = append(out, js)
	}
}

// validate checks one document; it returns "Kind/name" and the errors found.
func validate(doc []byte, crds map[schema.GroupVersionKind]crdVersion) (string, []string) {
	var head struct {
		metav1.TypeMeta `json:",inline"`
		Metadata        struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return "?", []string{err.Error()}
	}
	what := head.Kind + "/" + head.Metadata.Name
	if head.APIVersion == "" || head.Kind == "" {
		return what, []string{"apiVersion and kind are required"}
	}
	gvk := schema.FromAPIVersionAndKind(head.APIVersion, head.Kind)
	if scheme.Scheme.Recognizes(gvk) {
		return what, validateBuiltin(doc, gvk)
	}
	if crd, ok := crds[gvk]; ok {
		return what, validateCustom(doc, crd)
	}
	return what, []string{fmt.Sprintf(
		"no schema for %s: not a built-in kind and no CRD for it in -crds", gvk)}
}

func validateBuiltin(doc []byte, gvk schema.GroupVersionKind) []string {
	obj, _, err := strictCodec.Decode(doc, &gvk, nil)
	if err != nil {
		return []string{err.Error()}
	}
	accessor, ok := obj.(metav1.Object)
	if !ok {
		return []string{fmt.Sprintf("%s has no ObjectMeta", gvk)}
	}
	// Core kinds' names are DNS subdomains; RBAC names are path segments.
	nameFn := metavalidation.NameIsDNSSubdomain
	if gvk.Group == "rbac.authorization.k8s.io" {
		nameFn = path.ValidatePathSegmentName
	}
	namespaced := !clusterScoped[gvk.Kind]
	if namespaced && accessor.GetNamespace() == "" {
		accessor.SetNamespace(defaultNamespace)
	}
	errs := fieldErrors(metavalidation.ValidateObjectMetaAccessor(
		accessor, namespaced, nameFn, field.NewPath("metadata")))
	return append(errs, validateSemantics(obj, gvk)...)
}

// clusterScoped: the built-in kinds without a namespace this tool may meet.
var clusterScoped = map[string]bool{
	"Namespace": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"PersistentVolume": true, "StorageClass": true, "PriorityClass": true,
}

func validateCustom(doc []byte, crd crdVersion) []string {
	// Numbers become int64 or float64, as in the API server's unstructured objects.
	var obj map[string]interface{}
	if err := utiljson.Unmarshal(doc, &obj); err != nil {
		return []string{err.Error()}
	}
	var errs []string
	// Metadata: decoded strictly as ObjectMeta, then validated as the API server does.
	var meta metav1.ObjectMeta
	if raw, ok := obj["metadata"]; ok {
		if err := strictInto(raw, &meta); err != nil {
			errs = append(errs, "metadata: "+err.Error())
		}
	}
	if crd.namespaced && meta.Namespace == "" {
		meta.Namespace = defaultNamespace
	}
	errs = append(errs, fieldErrors(metavalidation.ValidateObjectMeta(
		&meta, crd.namespaced, path.ValidatePathSegmentName, field.NewPath("metadata")))...)

	// Unknown fields: everything the API server would silently prune.
	pruned := pruning.PruneWithOptions(deepCopy(obj), crd.structural, true,
		structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	sort.Strings(pruned)
	for _, p := range pruned {
		errs = append(errs, fmt.Sprintf("%s: unknown field (not in the CRD schema of %s)", p, crd.source))
	}
	// Types, enums, formats, required fields of the OpenAPI v3 schema.
	errs = append(errs, fieldErrors(schemavalidation.ValidateCustomResource(nil, obj, crd.validator))...)

	// Pod templates of Flink resources: also strictly core/v1 Pods.
	for _, at := range [][]string{
		{"spec", "podTemplate"},
		{"spec", "jobManager", "podTemplate"},
		{"spec", "taskManager", "podTemplate"},
	} {
		if tmpl, ok := lookup(obj, at); ok {
			if err := strictInto(tmpl, &corev1.Pod{}); err != nil {
				errs = append(errs, fmt.Sprintf("%s: as a core/v1 Pod: %v", strings.Join(at, "."), err))
			}
		}
	}
	return errs
}

// loadCRDs reads every CRD in dir, checks it as the API server would on
// creation, and indexes its served versions by group/version/kind.
func loadCRDs(dir string) (map[schema.GroupVersionKind]crdVersion, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no CRD YAML files in %s", dir)
	}
	out := map[schema.GroupVersionKind]crdVersion{}
	for _, file := range files {
		docs, err := documents(file)
		if err != nil {
			return nil, err
		}
		for _, doc := range docs {
			if err := addCRD(out, filepath.Base(file), doc); err != nil {
				return nil, fmt.Errorf("%s: %w", file, err)
			}
		}
	}
	return out, nil
}

func addCRD(out map[schema.GroupVersionKind]crdVersion, source string, doc []byte) error {
	gvk := apiextensionsv1.SchemeGroupVersion.WithKind("CustomResourceDefinition")
	obj, _, err := strictCodec.Decode(doc, &gvk, nil)
	if err != nil {
		return err
	}
	v1crd := obj.(*apiextensionsv1.CustomResourceDefinition)
	if bytes.Contains(doc, []byte("x-kubernetes-validations")) {
		return errors.New("has CEL rules (x-kubernetes-validations), which this tool does not evaluate")
	}
	apiextensionsv1.SetObjectDefaults_CustomResourceDefinition(v1crd)
	var crd apiextensions.CustomResourceDefinition
	if err := apiextensionsv1.Convert_v1_CustomResourceDefinition_To_apiextensions_CustomResourceDefinition(v1crd, &crd, nil); err != nil {
		return err
	}
	if errs := crdvalidation.ValidateCustomResourceDefinition(context.Background(), &crd); len(errs) > 0 {
		return fmt.Errorf("invalid CRD: %v", errs.ToAggregate())
	}
	for _, v := range crd.Spec.Versions {
		if !v.Served {
			continue
		}
		// Per version, or for all versions at once in the internal form.
		validation, err := apiextensions.GetSchemaForVersion(&crd, v.Name)
		if err != nil {
			return err
		}
		if validation == nil || validation.OpenAPIV3Schema == nil {
			return fmt.Errorf("version %s has no schema", v.Name)
		}
		s, err := structuralschema.NewStructural(validation.OpenAPIV3Schema)
		if err != nil {
			return err
		}
		validator, _, err := schemavalidation.NewSchemaValidator(validation.OpenAPIV3Schema)
		if err != nil {
			return err
		}
		gvk := schema.GroupVersionKind{Group: crd.Spec.Group, Version: v.Name, Kind: crd.Spec.Names.Kind}
		out[gvk] = crdVersion{
			source:     source,
			namespaced: crd.Spec.Scope == apiextensions.NamespaceScoped,
			structural: s,
			validator:  validator,
		}
	}
	return nil
}

// strictInto re-encodes a generic value and decodes it strictly into target
// with the API machinery's case-sensitive decoder: unknown and duplicate
// fields are errors, as are wrong types.
func strictInto(value interface{}, target interface{}) error {
	raw, err := stdjson.Marshal(value)
	if err != nil {
		return err
	}
	strict, err := sigsjson.UnmarshalStrict(raw, target)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		return errors.Join(strict...)
	}
	return nil
}

func lookup(obj map[string]interface{}, at []string) (interface{}, bool) {
	var cur interface{} = obj
	for _, key := range at {
		m, ok := cur.(map[string]interface{})
		if !ok {
			return nil, false
		}
		if cur, ok = m[key]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func deepCopy(obj map[string]interface{}) map[string]interface{} {
	return runtime.DeepCopyJSON(obj)
}

func fieldErrors(errs field.ErrorList) []string {
	out := make([]string, 0, len(errs))
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}
