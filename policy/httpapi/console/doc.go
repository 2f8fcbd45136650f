// Package console is optguard's operator web console: the pages that
// people who run the proxy look at rather than query (number lookup with
// its audit trail, the SMS Opt-In and consent status reports, the
// do-not-contact list, consent list imports, the review queue, the
// running configuration's organizations and templates, live traffic).
// It is served on the admin listener at /console/ from files embedded in
// the binary, so it works offline: no CDN, no font or script from
// elsewhere, and no request leaves the listener.
//
// It holds no rule and no data of its own. The pages are static files;
// everything they show or do is a call of the operator API
// (policy/httpapi) made by the browser with the operator's token, so the
// console can do exactly what the token can do through the API and
// nothing else, and each refusal it shows is the API's (and so the
// policy's) own words. Which pages and buttons a token is offered comes
// from GET /api/v1/me (its role) and each operation's x-optguard-role in
// /openapi.json, the API's route table: the console repeats no role.
//
// Sign-in: the operator pastes an API token once; the page keeps it in
// sessionStorage (gone when the tab closes, never written to disk by the
// page, not shared with other tabs) and sends it as "Authorization:
// Bearer" on each fetch. There are no cookies at all. A browser attaches
// cookies to requests that other sites make it send, which is what CSRF
// abuses; it never attaches a header that a page of this origin has to
// set itself, so a forged request from another site arrives without the
// token and gets the API's 401. That leaves no CSRF surface to defend,
// and no session state on the server: revoking a token in the
// configuration ends every console session that uses it. Sign-out clears
// sessionStorage.
//
// Every response carries a strict Content-Security-Policy (scripts,
// styles and connections from this origin only, no inline script or
// style, no eval, no framing, no form posts), X-Content-Type-Options:
// nosniff and Referrer-Policy: no-referrer. The pages build the DOM with
// textContent and attributes, never innerHTML, so what the API returns
// (a handset's text, a note) is shown as text, not markup.
//
// The files are plain HTML, CSS and small vanilla JavaScript modules
// (assets/js); the charts of the live view are inline SVG drawn by
// chart.js. No JavaScript library is used.
//
// It imports only the standard library: the API it calls is over HTTP.
package console
