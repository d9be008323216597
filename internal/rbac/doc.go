package rbac

import (
	"fmt"
	"strings"
)

// Markdown renders docs/roles.md from the tables.
func Markdown() string {
	var b strings.Builder
	b.WriteString("# Administrator roles\n\n")
	b.WriteString("<!-- Generated from internal/rbac by `go test ./internal/rbac -update`; do not edit. -->\n\n")
	b.WriteString("Portcullis uses Microsoft Entra's directory roles, with the same names and role template IDs\n")
	b.WriteString("(the `wids` claim and Graph's `roleDefinitionId`). One permission table decides every admin API\n")
	b.WriteString("route; a test checks every route against every role.\n\n")
	b.WriteString("## Roles\n\n| Role | Template ID | Privileged | What it is for |\n|---|---|---|---|\n")
	for _, r := range roles {
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", r.Name, r.ID, yesNo(r.Privileged), r.Description)
	}
	b.WriteString("\n## Permissions by role\n\n| Permission |")
	for _, r := range roles {
		fmt.Fprintf(&b, " %s |", r.Name)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(roles)) + "\n")
	for _, p := range AllPermissions {
		fmt.Fprintf(&b, "| `%s` |", p)
		for _, r := range roles {
			fmt.Fprintf(&b, " %s |", map[bool]string{true: "✓", false: ""}[r.Grants(p)])
		}
		b.WriteString("\n")
	}
	b.WriteString("\n## Protected administrators\n\n")
	b.WriteString("Routes marked *acts on a user* below also require that the caller may manage that user,\n")
	b.WriteString("as in Entra: a Global Administrator may manage everyone; otherwise every role the target holds\n")
	b.WriteString("must be in the caller's list.\n\n| Caller's role | May manage users holding only |\n|---|---|\n")
	for _, r := range roles {
		if allowed, ok := manageableWith[r.ID]; ok {
			names := []string{"no role"}
			for _, id := range allowed {
				role, _ := RoleByID(id)
				names = append(names, role.Name)
			}
			fmt.Fprintf(&b, "| %s | %s |\n", r.Name, strings.Join(names, ", "))
		}
	}
	b.WriteString("\nOnly Global Administrators and Privileged Role Administrators assign or remove roles.\n")
	b.WriteString("\n## Routes\n\n| Method | Path | Permission | Acts on a user | What it does |\n|---|---|---|---|---|\n")
	for _, r := range Routes {
		perm := "any signed-in principal"
		if r.Permission != "" {
			perm = "`" + string(r.Permission) + "`"
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", r.Method, r.Pattern, perm, yesNo(r.TargetsUser), r.Summary)
	}
	return b.String()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return ""
}
