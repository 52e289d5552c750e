package main

import (
	"fmt"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/kubernetes/pkg/api/legacyscheme"
	"k8s.io/kubernetes/pkg/apis/core"
	_ "k8s.io/kubernetes/pkg/apis/core/install" // core/v1 defaults and conversions
	corevalidation "k8s.io/kubernetes/pkg/apis/core/validation"
	"k8s.io/kubernetes/pkg/apis/rbac"
	_ "k8s.io/kubernetes/pkg/apis/rbac/install" // rbac/v1 defaults and conversions
	rbacvalidation "k8s.io/kubernetes/pkg/apis/rbac/validation"
)

// validateSemantics runs the API server's validation of a built-in object, as
// on `kubectl create`: defaults applied, converted to the internal version,
// then the kind's Validate function. Kinds not wired here are refused.
func validateSemantics(obj runtime.Object, gvk schema.GroupVersionKind) []string {
	internalGVK := gvk.GroupKind().WithVersion(runtime.APIVersionInternal)
	internal, err := legacyscheme.Scheme.New(internalGVK)
	if err != nil {
		return []string{fmt.Sprintf("no API server validation wired for %s; add it to semantics.go", gvk)}
	}
	legacyscheme.Scheme.Default(obj)
	if err := legacyscheme.Scheme.Convert(obj, internal, nil); err != nil {
		return []string{err.Error()}
	}
	var errs field.ErrorList
	switch o := internal.(type) {
	case *core.ConfigMap:
		errs = corevalidation.ValidateConfigMap(o)
	case *core.Secret:
		errs = corevalidation.ValidateSecret(o)
	case *core.ServiceAccount:
		errs = corevalidation.ValidateServiceAccount(o)
	case *core.Namespace:
		errs = corevalidation.ValidateNamespace(o)
	case *rbac.Role:
		errs = rbacvalidation.ValidateRole(o)
	case *rbac.RoleBinding:
		errs = rbacvalidation.ValidateRoleBinding(o)
	default:
		return []string{fmt.Sprintf("no API server validation wired for %s; add it to semantics.go", gvk)}
	}
	return fieldErrors(errs)
}
