package adminapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/portcullis-idp/portcullis/internal/httpx"
	"github.com/portcullis-idp/portcullis/internal/rbac"
	"github.com/portcullis-idp/portcullis/internal/store"
)

// graphRoleDefinition is Graph's unifiedRoleDefinition.
type graphRoleDefinition struct {
	ID              string               `json:"id"`
	DisplayName     string               `json:"displayName"`
	Description     string               `json:"description"`
	IsBuiltIn       bool                 `json:"isBuiltIn"`
	IsEnabled       bool                 `json:"isEnabled"`
	IsPrivileged    bool                 `json:"isPrivileged"`
	TemplateID      string               `json:"templateId"`
	RolePermissions []graphRolePermision `json:"rolePermissions"`
}

type graphRolePermision struct {
	AllowedResourceActions []string `json:"allowedResourceActions"`
}

func (a *API) listRoleDefinitions(w http.ResponseWriter, r *http.Request, _ *principal) {
	out := collection[graphRoleDefinition]{Context: a.odataContext("roleManagement/directory/roleDefinitions")}
	for _, role := range rbac.Roles() {
		actions := make([]string, 0, len(role.Permissions))
		for _, p := range role.Permissions {
			actions = append(actions, "portcullis/"+string(p))
		}
		out.Value = append(out.Value, graphRoleDefinition{ID: role.ID, DisplayName: role.Name, Description: role.Description,
			IsBuiltIn: true, IsEnabled: true, IsPrivileged: role.Privileged, TemplateID: role.ID,
			RolePermissions: []graphRolePermision{{AllowedResourceActions: actions}}})
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

// graphRoleAssignment is Graph's unifiedRoleAssignment.
type graphRoleAssignment struct {
	Context          string `json:"@odata.context,omitempty"`
	ID               string `json:"id"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	DirectoryScopeID string `json:"directoryScopeId"`
}

func toGraphAssignment(as store.RoleAssignment) graphRoleAssignment {
	return graphRoleAssignment{ID: as.ID, PrincipalID: as.PrincipalID, RoleDefinitionID: as.RoleDefinitionID,
		DirectoryScopeID: as.DirectoryScopeID}
}

// listRoleAssignments supports $filter=principalId eq '...' and
// roleDefinitionId eq '...', as Graph does.
func (a *API) listRoleAssignments(w http.ResponseWriter, r *http.Request, p *principal) {
	var prop, value string
	if f := r.URL.Query().Get("$filter"); f != "" {
		var ok bool
		prop, value, ok = parseEqFilter(f)
		if !ok || (prop != "principalId" && prop != "roleDefinitionId") {
			writeError(w, r, http.StatusBadRequest, codeBadRequest,
				"Unsupported $filter: only principalId eq '...' and roleDefinitionId eq '...' are supported.")
			return
		}
	}
	principalID := ""
	if prop == "principalId" {
		principalID = value
	}
	all, err := a.store.ListRoleAssignments(r.Context(), p.tenantID, principalID)
	if err != nil {
		a.internal(w, r, err)
		return
	}
	out := collection[graphRoleAssignment]{Context: a.odataContext("roleManagement/directory/roleAssignments"),
		Value: []graphRoleAssignment{}}
	for _, as := range all {
		if prop == "roleDefinitionId" && !strings.EqualFold(as.RoleDefinitionID, value) {
			continue
		}
		out.Value = append(out.Value, toGraphAssignment(as))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
}

type createAssignmentRequest struct {
	ODataType        string `json:"@odata.type"`
	PrincipalID      string `json:"principalId"`
	RoleDefinitionID string `json:"roleDefinitionId"`
	DirectoryScopeID string `json:"directoryScopeId"`
}

func (a *API) createRoleAssignment(w http.ResponseWriter, r *http.Request, p *principal) {
	var req createAssignmentRequest
	if !decodeStrict(w, r, &req) {
		return
	}
	role, ok := rbac.RoleByID(req.RoleDefinitionID)
	if !ok {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "roleDefinitionId is not a directory role: "+req.RoleDefinitionID)
		return
	}
	if req.DirectoryScopeID != "/" {
		writeError(w, r, http.StatusBadRequest, codeBadRequest, "directoryScopeId must be \"/\" (the whole tenant).")
		return
	}
	target, ok := a.principalExists(w, r, p.tenantID, req.PrincipalID)
	if !ok {
		return
	}
	as := store.RoleAssignment{ID: uuid.NewString(), TenantID: p.tenantID, PrincipalID: req.PrincipalID,
		RoleDefinitionID: role.ID, DirectoryScopeID: "/", CreatedAt: a.now().UTC()}
	err := a.store.CreateRoleAssignment(r.Context(), as)
	if errors.Is(err, store.ErrConflict) {
		writeError(w, r, http.StatusConflict, codeConflict, "The principal already holds this role.")
		return
	}
	if err != nil {
		a.internal(w, r, err)
		return
	}
	a.audit(r, p, auditEntry{category: "RoleManagement", activity: "Add member to role", operation: "Assign",
		targets:  []auditTarget{target, {ID: role.ID, DisplayName: role.Name, Type: "Role"}},
		modified: []modifiedProperty{{DisplayName: "Role.DisplayName", NewValue: role.Name}}})
	g := toGraphAssignment(as)
	g.Context = a.odataContext("roleManagement/directory/roleAssignments/$entity")
	w.Header().Set("Location", a.publicURL+"/v1.0/roleManagement/directory/roleAssignments/"+as.ID)
	httpx.WriteJSON(w, http.StatusCreated, g)
}

// principalExists resolves an assignment's principal: a user or an app of
// the tenant.
func (a *API) principalExists(w http.ResponseWriter, r *http.Request, tenantID, id string) (auditTarget, bool) {
	if u, err := a.store.GetUser(r.Context(), tenantID, id); err == nil {
		return auditTarget{ID: u.ID, DisplayName: u.DisplayName, Type: "User", UserPrincipalName: u.UserPrincipalName}, true
	} else if !errors.Is(err, store.ErrNotFound) {
		a.internal(w, r, err)
		return auditTarget{}, false
	}
	if app, err := a.store.GetApp(r.Context(), id); err == nil && app.TenantID == tenantID {
		return auditTarget{ID: app.ClientID, DisplayName: app.DisplayName, Type: "ServicePrincipal"}, true
	}
	writeError(w, r, http.StatusBadRequest, codeBadRequest, "principalId does not name a user or application of this tenant.")
	return auditTarget{}, false
}

func (a *API) deleteRoleAssignment(w http.ResponseWriter, r *http.Request, p *principal) {
	id := r.PathValue("id")
	all, err := a.store.ListRoleAssignments(r.Context(), p.tenantID, "")
	if err != nil {
		a.internal(w, r, err)
		return
	}
	var found *store.RoleAssignment
	for i := range all {
		if all[i].ID == id {
			found = &all[i]
		}
	}
	if found == nil {
		writeError(w, r, http.StatusNotFound, codeNotFound, "Role assignment '"+id+"' does not exist.")
		return
	}
	if found.RoleDefinitionID == rbac.GlobalAdministrator && a.lastGlobalAdmin(all, found) {
		writeError(w, r, http.StatusBadRequest, codeBadRequest,
			"This is the last Global Administrator assignment: assign another Global Administrator first.")
		return
	}
	if err := a.store.DeleteRoleAssignment(r.Context(), p.tenantID, id); err != nil {
		a.internal(w, r, err)
		return
	}
	role, _ := rbac.RoleByID(found.RoleDefinitionID)
	a.audit(r, p, auditEntry{category: "RoleManagement", activity: "Remove member from role", operation: "Unassign",
		targets:  []auditTarget{{ID: found.PrincipalID, Type: "Principal"}, {ID: role.ID, DisplayName: role.Name, Type: "Role"}},
		modified: []modifiedProperty{{DisplayName: "Role.DisplayName", OldValue: role.Name}}})
	w.WriteHeader(http.StatusNoContent)
}

// lastGlobalAdmin reports whether removing as leaves no Global Administrator
// assignment: the tenant must never lose its last way in.
func (a *API) lastGlobalAdmin(all []store.RoleAssignment, as *store.RoleAssignment) bool {
	for _, other := range all {
		if other.ID != as.ID && other.RoleDefinitionID == rbac.GlobalAdministrator {
			return false
		}
	}
	return true
}
