package httpapi

import "net/http"

// route is one endpoint. The mux, the OpenAPI document's test and the
// console all read this one table.
type route struct {
	Method, Path string
	Role         Role     // the least role that may call it
	Query        []string // the query parameters it takes; others are refused
	Handler      http.HandlerFunc
}

// Route describes an endpoint for callers outside the package (the
// console, tests).
type Route struct {
	Method, Path string
	Role         Role
	Query        []string // the query parameters it takes
}

// Routes lists every endpoint of the API.
func (a *API) Routes() []Route {
	var out []Route
	for _, rt := range a.routes() {
		out = append(out, Route{Method: rt.Method, Path: rt.Path, Role: rt.Role, Query: rt.Query})
	}
	return out
}

func (a *API) routes() []route {
	number := []string{"organization"}
	return []route{
		{"GET", "/openapi.json", RoleAuditor, nil, serveOpenAPI},
		{"GET", "/api/v1/me", RoleAuditor, nil, a.me},
		{"GET", "/api/v1/organizations", RoleAuditor, nil, a.listOrganizations},
		{"GET", "/api/v1/organizations/{name}/templates", RoleAuditor, nil, a.getTemplates},
		{"GET", "/api/v1/live", RoleAuditor, nil, a.getLive},
		{"GET", "/api/v1/numbers/{number}", RoleAuditor, number, a.getNumber},
		{"GET", "/api/v1/numbers/{number}/audit", RoleAuditor, []string{"organization", "format"}, a.getAudit},
		{"GET", "/api/v1/numbers/{number}/messages", RoleAuditor, []string{"organization", "from", "to", "cursor", "limit"}, a.getMessages},
		{"GET", "/api/v1/consents", RoleAuditor, []string{"organization", "sender", "state", "mode", "consent_type", "number_prefix", "updated_from", "updated_to", "cursor", "limit"}, a.listConsents},
		{"GET", "/api/v1/reports/opt-in", RoleAuditor, []string{"tab", "keyword", "number", "from", "to", "organization", "format", "cursor", "limit"}, a.optInReport},
		{"GET", "/api/v1/reports/consent-status", RoleAuditor, []string{"state", "number", "organization", "format", "cursor", "limit"}, a.consentStatusReport},
		{"POST", "/api/v1/numbers/{number}/opt-in-requests", RoleAgent, nil, a.requestOptIn},
		{"POST", "/api/v1/numbers/{number}/pin", RoleAgent, nil, a.verifyPIN},
		{"POST", "/api/v1/numbers/{number}/consents", RoleAgent, nil, a.recordConsent},
		{"POST", "/api/v1/numbers/{number}/opt-out", RoleAgent, nil, a.agentOptOut},
		{"GET", "/api/v1/dnc", RoleAuditor, []string{"organization", "format", "cursor", "limit"}, a.listDNC},
		{"POST", "/api/v1/dnc", RoleAdmin, nil, a.addDNC},
		{"DELETE", "/api/v1/dnc/{number}", RoleAdmin, []string{"organization", "sender", "note"}, a.removeDNC},
		{"GET", "/api/v1/review", RoleAuditor, []string{"organization", "since"}, a.listReview},
		{"POST", "/api/v1/review/decisions", RoleAdmin, nil, a.decideReview},
		{"POST", "/api/v1/imports", RoleAdmin, []string{"cutoff", "dry_run", "organization", "wait"}, a.startImport},
		{"GET", "/api/v1/imports", RoleAdmin, nil, a.listImports},
		{"GET", "/api/v1/imports/{id}", RoleAdmin, nil, a.getImport},
		{"GET", "/api/v1/ledger/head", RoleAuditor, nil, a.ledgerHead},
		{"POST", "/api/v1/ledger/verify", RoleAuditor, nil, a.verifyLedger},
		{"GET", "/api/v1/webhooks", RoleAuditor, nil, a.listWebhooks},
		{"GET", "/api/v1/webhooks/{name}/deliveries", RoleAuditor, []string{"cursor", "limit"}, a.listDeliveries},
		{"GET", "/api/v1/subjects/{number}", RoleAdmin, number, a.exportSubject},
		{"POST", "/api/v1/subjects/{number}/erasure", RoleAdmin, number, a.eraseSubject},
		{"GET", "/api/v1/senders", RoleAuditor, []string{"organization"}, a.listSenders},
		{"PUT", "/api/v1/senders/{sender}", RoleAdmin, nil, a.putSender},
		{"DELETE", "/api/v1/senders/{sender}", RoleAdmin, []string{"organization"}, a.deleteSender},
		{"GET", "/api/v1/exports/events", RoleAuditor, []string{"from", "to", "organization", "types", "format"}, a.exportEvents},
		{"GET", "/api/v1/exports/opt-outs", RoleAuditor, []string{"day", "organization"}, a.exportOptOuts},
	}
}
