// Package iamsim is a wire-level simulator of the part of AWS IAM and STS the CloudHealth permission check uses,
// for tests and the sandbox: STS AssumeRole (model sts/2011-06-15) and IAM GetRole and SimulatePrincipalPolicy
// (model iam/2010-05-08), so the real SDK clients talk to it over HTTP.
//
// Sources: the SDK's own models, service/sts v1.52.0 and service/iam v1.66.0 (api_op_*.go for the members and
// what they mean, request_snapshot/ for the query protocol's form encoding, response_snapshot/ for the XML answers
// and errors, types/enums.go for the decisions, types/errors.go for the error codes), and IAM's documented policy
// evaluation (User Guide, "Policy evaluation logic" and "IAM JSON policy elements": an explicit Deny wins over an
// Allow, an Allow over the implicit deny; "*" and "?" wildcards in Action, case-insensitive action names; an SCP
// that denies an action denies it whatever the role allows).
//
// What it holds to: the query protocol (POST, form-encoded, Action and Version; XML answers wrapped in
// <Op>Response/<Op>Result, errors as ErrorResponse/Error/Code and Message, the request id in x-amzn-RequestId) with
// no element the SDK does not model; requests are identified by the access key of their SigV4 Authorization
// header: AccessKeyFor(account) signs as the account itself, KeyFor(arn) as a principal of an account, and the
// keys AssumeRole hands out as that role's session. AssumeRole checks that the role exists and that its trust policy
// lets the caller in with the external id presented (AccessDenied otherwise, as STS answers both). IAM calls act on
// the caller's own account only (AccessDenied for another account's role), and a session may make only the calls
// its role's policies allow on the role asked about (AccessDenied otherwise). SimulatePrincipalPolicy evaluates the
// role's inline policies and the account's SCP (DenySCP) for each action on each resource, pages its results
// (MaxItems, default 100 as documented; IsTruncated and Marker) and reports OrganizationsDecisionDetail for an
// account in an organization (one SetOrganization or DenySCP named).
//
// Inferred, where AWS documents nothing or the simulator keeps it simple: a trust principal matches by exact ARN or
// by account (an account principal trusts every principal of the account, the account's own identity policies not
// being simulated); only StringEquals on sts:ExternalId is understood as a condition (a statement with any other
// condition is not applied, in the trust policy and in permissions policies alike); NotAction and NotResource are
// supported; managed policies, permissions boundaries, resource policies and context keys are not; an SCP's denial
// is reported as explicitDeny with AllowedByOrganizations false; an action name with a wildcard is refused with
// InvalidInput (the API documents names of operations); with ResourceArns "*" (or none) the result names "*" and
// carries no ResourceSpecificResults; assumed credentials do not expire here; the Marker is an opaque offset.
package iamsim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Role is an IAM role as the simulator holds it.
type Role struct {
	Name string
	// TrustPolicy is the role's trust policy (AssumeRolePolicyDocument), JSON.
	TrustPolicy string
	// Policies are the role's inline policies, name -> JSON document.
	Policies map[string]string
}

// Options configures a Sim.
type Options struct {
	// Now is the time (credentials' expiry, roles' creation); time.Now when nil.
	Now func() time.Time
	// Provision (the sandbox): the roles of an account the simulator has not seen, created when a role of it is
	// first assumed, with the external id that call presents. Nil: an unknown account has no roles.
	Provision func(accountID, externalID string) []Role
}

// Sim is the simulator: an http.Handler serving STS and IAM on one address. It is safe for concurrent use.
type Sim struct {
	opts Options

	mu         sync.Mutex
	roles      map[string]map[string]*storedRole // account -> role name -> role
	seen       map[string]bool                   // accounts provisioned (or set up by hand)
	scp        map[string][]string               // account in an organization -> action patterns its SCP denies
	principals map[string]identity               // KeyFor keys
	sessions   map[string]identity               // AssumeRole keys
	calls      map[string]int
	seq        int
}

type storedRole struct {
	Role
	id      string
	created time.Time
}

// identity is who signed a request.
type identity struct {
	account string
	arn     string // the principal's ARN; arn:aws:iam::<account>:root for the account itself
	role    string // for a role session, the role's name
}

// New returns a simulator with no accounts.
func New(opts Options) *Sim {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Sim{opts: opts, roles: map[string]map[string]*storedRole{}, seen: map[string]bool{}, scp: map[string][]string{},
		principals: map[string]identity{}, sessions: map[string]identity{}, calls: map[string]int{}}
}

// AccessKeyFor returns an access key id that the simulator reads as the account itself (the convention of the
// Organizations and Billing Conductor simulators).
func AccessKeyFor(accountID string) string { return "AKIASIM" + accountID }

var (
	accountKey = regexp.MustCompile(`^AKIASIM(\d{12})$`)
	iamARN     = regexp.MustCompile(`^arn:aws[\w-]*:iam::(\d{12}):(?:role|user)/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)$`)
)

// KeyFor returns an access key id that signs as the principal (an IAM role or user ARN), such as the reseller's
// role the checker role trusts.
func (s *Sim) KeyFor(principalARN string) (string, error) {
	m := iamARN.FindStringSubmatch(principalARN)
	if m == nil {
		return "", fmt.Errorf("iamsim: %q is not an IAM role or user ARN", principalARN)
	}
	sum := sha256.Sum256([]byte(principalARN))
	key := "AKIASIMP" + strings.ToUpper(hex.EncodeToString(sum[:6]))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.principals[key] = identity{account: m[1], arn: principalARN}
	return key, nil
}

// RoleARN is the ARN of a role of an account.
func RoleARN(accountID, name string) string { return "arn:aws:iam::" + accountID + ":role/" + name }

// PutRole creates or replaces a role of an account.
func (s *Sim) PutRole(accountID string, r Role) error {
	if _, err := parseDocument(r.TrustPolicy); err != nil {
		return fmt.Errorf("iamsim: role %s: trust policy: %w", r.Name, err)
	}
	for name, p := range r.Policies {
		if _, err := parseDocument(p); err != nil {
			return fmt.Errorf("iamsim: role %s: policy %s: %w", r.Name, name, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.putRoleLocked(accountID, r)
	return nil
}

func (s *Sim) putRoleLocked(accountID string, r Role) {
	s.seen[accountID] = true
	if s.roles[accountID] == nil {
		s.roles[accountID] = map[string]*storedRole{}
	}
	s.seq++
	sum := sha256.Sum256([]byte(accountID + "/" + r.Name + "/" + strconv.Itoa(s.seq)))
	r.Policies = cloneMap(r.Policies)
	s.roles[accountID][r.Name] = &storedRole{Role: r, id: "AROA" + strings.ToUpper(hex.EncodeToString(sum[:8])), created: s.opts.Now()}
}

// DeleteRole removes a role of an account; the account counts as set up (Provision is not called for it).
func (s *Sim) DeleteRole(accountID, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen[accountID] = true
	delete(s.roles[accountID], name)
}

// PutRolePolicy replaces (or adds) one inline policy of a role.
func (s *Sim) PutRolePolicy(accountID, roleName, policyName, doc string) error {
	if _, err := parseDocument(doc); err != nil {
		return fmt.Errorf("iamsim: policy %s: %w", policyName, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.roles[accountID][roleName]
	if !ok {
		return fmt.Errorf("iamsim: account %s has no role %s", accountID, roleName)
	}
	if r.Policies == nil {
		r.Policies = map[string]string{}
	}
	r.Policies[policyName] = doc
	return nil
}

// SetOrganization puts an account in an organization whose SCPs deny nothing.
func (s *Sim) SetOrganization(accountID string) { s.DenySCP(accountID) }

// DenySCP puts an account in an organization whose SCP denies the actions (IAM action patterns), in addition to
// those it denied before.
func (s *Sim) DenySCP(accountID string, actions ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scp[accountID] = append(slices.Clone(s.scp[accountID]), actions...)
	if s.scp[accountID] == nil {
		s.scp[accountID] = []string{}
	}
}

// Calls returns how many requests each operation has answered (AssumeRole, GetRole, SimulatePrincipalPolicy).
func (s *Sim) Calls() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.calls))
	for k, v := range s.calls {
		out[k] = v
	}
	return out
}

// ServeHTTP answers one STS or IAM query-protocol request.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeError(w, http.StatusBadRequest, "InvalidAction", "the query protocol is POST")
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, http.StatusBadRequest, "MalformedQueryString", "the request body is not form-encoded")
		return
	}
	action, version := r.PostForm.Get("Action"), r.PostForm.Get("Version")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	w.Header().Set("x-amzn-RequestId", fmt.Sprintf("iamsim-%d", s.seq))
	s.calls[action]++
	who, ok := s.callerLocked(r.Header.Get("Authorization"))
	if !ok {
		writeError(w, http.StatusForbidden, "InvalidClientTokenId", "The security token included in the request is invalid.")
		return
	}
	switch {
	case action == "AssumeRole" && version == "2011-06-15":
		s.assumeRole(w, r.PostForm, who)
	case action == "GetRole" && version == "2010-05-08":
		s.getRole(w, r.PostForm, who)
	case action == "SimulatePrincipalPolicy" && version == "2010-05-08":
		s.simulate(w, r.PostForm, who)
	default:
		writeError(w, http.StatusBadRequest, "InvalidAction", fmt.Sprintf("Could not find operation %s for version %s", action, version))
	}
}

var credentialKey = regexp.MustCompile(`Credential=([A-Z0-9]+)/`)

func (s *Sim) callerLocked(authorization string) (identity, bool) {
	m := credentialKey.FindStringSubmatch(authorization)
	if m == nil {
		return identity{}, false
	}
	if a := accountKey.FindStringSubmatch(m[1]); a != nil {
		return identity{account: a[1], arn: "arn:aws:iam::" + a[1] + ":root"}, true
	}
	if id, ok := s.principals[m[1]]; ok {
		return id, true
	}
	id, ok := s.sessions[m[1]]
	return id, ok
}

// assumeRole answers STS AssumeRole.
func (s *Sim) assumeRole(w http.ResponseWriter, f url.Values, who identity) {
	arn := f.Get("RoleArn")
	m := iamARN.FindStringSubmatch(arn)
	if m == nil || !strings.Contains(arn, ":role/") {
		writeError(w, http.StatusBadRequest, "ValidationError", "RoleArn is not a role ARN")
		return
	}
	account, name, externalID := m[1], m[2], f.Get("ExternalId")
	if !s.seen[account] && s.opts.Provision != nil {
		for _, r := range s.opts.Provision(account, externalID) {
			s.putRoleLocked(account, r)
		}
		s.seen[account] = true
	}
	denied := fmt.Sprintf("User: %s is not authorized to perform: sts:AssumeRole on resource: %s", who.arn, arn)
	role, ok := s.roles[account][name]
	if !ok {
		writeError(w, http.StatusForbidden, "AccessDenied", denied)
		return
	}
	trust, err := parseDocument(role.TrustPolicy)
	if err != nil || !trusts(trust, who.arn, who.account, externalID) {
		writeError(w, http.StatusForbidden, "AccessDenied", denied)
		return
	}
	seconds := 3600
	if d := f.Get("DurationSeconds"); d != "" {
		if seconds, err = strconv.Atoi(d); err != nil || seconds < 900 || seconds > 43200 {
			writeError(w, http.StatusBadRequest, "ValidationError", "DurationSeconds must be from 900 to 43200")
			return
		}
	}
	session := f.Get("RoleSessionName")
	key := fmt.Sprintf("ASIASIM%013d", s.seq)
	s.sessions[key] = identity{account: account, arn: "arn:aws:sts::" + account + ":assumed-role/" + name + "/" + session, role: name}
	type credentials struct {
		AccessKeyID     string `xml:"AccessKeyId"`
		SecretAccessKey string `xml:"SecretAccessKey"`
		SessionToken    string `xml:"SessionToken"`
		Expiration      string `xml:"Expiration"`
	}
	type result struct {
		AssumedRoleUser struct {
			Arn           string `xml:"Arn"`
			AssumedRoleID string `xml:"AssumedRoleId"`
		} `xml:"AssumedRoleUser"`
		Credentials credentials `xml:"Credentials"`
	}
	var out result
	out.AssumedRoleUser.Arn = s.sessions[key].arn
	out.AssumedRoleUser.AssumedRoleID = role.id + ":" + session
	out.Credentials = credentials{AccessKeyID: key, SecretAccessKey: "iamsim-secret", SessionToken: "iamsim-token-" + key,
		Expiration: s.opts.Now().Add(time.Duration(seconds) * time.Second).UTC().Format(time.RFC3339)}
	writeResult(w, "AssumeRole", "https://sts.amazonaws.com/doc/2011-06-15/", out)
}

// authorizeLocked checks that the caller may make an IAM call on a role of its own account: the account's own
// principals may; a role session when its role's policies allow the action on the role's ARN and no SCP denies it.
func (s *Sim) authorizeLocked(w http.ResponseWriter, who identity, action, account, roleName string) bool {
	resource := RoleARN(account, roleName)
	ok := who.account == account
	if ok && who.role != "" {
		ok = s.decideLocked(account, who.role, action, resource) == Allowed
	}
	if !ok {
		writeError(w, http.StatusForbidden, "AccessDenied", fmt.Sprintf("User: %s is not authorized to perform: %s on resource: %s",
			who.arn, action, resource))
	}
	return ok
}

// decideLocked is the decision for one action on one resource by a role of an account: the SCP first (its deny
// ends the evaluation), then the role's inline policies.
func (s *Sim) decideLocked(account, roleName, action, resource string) string {
	if anyMatch(s.scp[account], action, MatchAction) {
		return ExplicitDeny
	}
	r := s.roles[account][roleName]
	if r == nil {
		return ImplicitDeny
	}
	var docs []document
	for _, p := range r.Policies {
		if d, err := parseDocument(p); err == nil {
			docs = append(docs, d)
		}
	}
	return evaluate(docs, action, resource)
}

// getRole answers IAM GetRole.
func (s *Sim) getRole(w http.ResponseWriter, f url.Values, who identity) {
	name := f.Get("RoleName")
	if name == "" {
		writeError(w, http.StatusBadRequest, "ValidationError", "1 validation error detected: Value null at 'roleName' failed to satisfy constraint: Member must not be null")
		return
	}
	if !s.authorizeLocked(w, who, "iam:GetRole", who.account, name) {
		return
	}
	r, ok := s.roles[who.account][name]
	if !ok {
		writeError(w, http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("The role with name %s cannot be found.", name))
		return
	}
	type role struct {
		Path                     string `xml:"Path"`
		RoleName                 string `xml:"RoleName"`
		RoleID                   string `xml:"RoleId"`
		Arn                      string `xml:"Arn"`
		CreateDate               string `xml:"CreateDate"`
		AssumeRolePolicyDocument string `xml:"AssumeRolePolicyDocument"`
		MaxSessionDuration       int    `xml:"MaxSessionDuration"`
	}
	// IAM returns the trust policy URL-encoded (RFC 3986), as GetRole's documentation says.
	writeResult(w, "GetRole", "https://iam.amazonaws.com/doc/2010-05-08/", struct {
		Role role `xml:"Role"`
	}{role{Path: "/", RoleName: r.Name, RoleID: r.id, Arn: RoleARN(who.account, r.Name), CreateDate: r.created.UTC().Format(time.RFC3339),
		AssumeRolePolicyDocument: url.PathEscape(r.TrustPolicy), MaxSessionDuration: 3600}})
}

// members reads a query-protocol list: Name.member.1, Name.member.2, ...
func members(f url.Values, name string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := f[name+".member."+strconv.Itoa(i)]
		if !ok || len(v) == 0 {
			return out
		}
		out = append(out, v[0])
	}
}

// simulate answers IAM SimulatePrincipalPolicy.
func (s *Sim) simulate(w http.ResponseWriter, f url.Values, who identity) {
	source := f.Get("PolicySourceArn")
	m := iamARN.FindStringSubmatch(source)
	actions := members(f, "ActionNames")
	if m == nil || !strings.Contains(source, ":role/") || len(actions) == 0 {
		writeError(w, http.StatusBadRequest, "InvalidInput", "PolicySourceArn must be a role ARN and ActionNames must not be empty")
		return
	}
	for _, a := range actions {
		if strings.ContainsAny(a, "*?") || !strings.Contains(a, ":") {
			writeError(w, http.StatusBadRequest, "InvalidInput", fmt.Sprintf("%q is not the name of an API operation", a))
			return
		}
	}
	account, name := m[1], m[2]
	if !s.authorizeLocked(w, who, "iam:SimulatePrincipalPolicy", account, name) {
		return
	}
	if _, ok := s.roles[account][name]; !ok {
		writeError(w, http.StatusNotFound, "NoSuchEntity", fmt.Sprintf("The role with name %s cannot be found.", name))
		return
	}
	resources := members(f, "ResourceArns")
	if len(resources) == 0 {
		resources = []string{"*"}
	}
	maxItems, start := 100, 0
	if v := f.Get("MaxItems"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, http.StatusBadRequest, "ValidationError", "MaxItems must be from 1 to 1000")
			return
		}
		maxItems = n
	}
	if v := f.Get("Marker"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > len(actions)*len(resources) {
			writeError(w, http.StatusBadRequest, "InvalidInput", "the Marker is not one this call returned")
			return
		}
		start = n
	}
	type orgDetail struct {
		AllowedByOrganizations bool `xml:"AllowedByOrganizations"`
	}
	type result struct {
		EvalActionName              string     `xml:"EvalActionName"`
		EvalResourceName            string     `xml:"EvalResourceName"`
		EvalDecision                string     `xml:"EvalDecision"`
		OrganizationsDecisionDetail *orgDetail `xml:"OrganizationsDecisionDetail,omitempty"`
	}
	var all []result
	_, inOrg := s.scp[account]
	for _, a := range actions {
		for _, res := range resources {
			r := result{EvalActionName: a, EvalResourceName: res, EvalDecision: s.decideLocked(account, name, a, res)}
			if inOrg {
				r.OrganizationsDecisionDetail = &orgDetail{AllowedByOrganizations: !anyMatch(s.scp[account], a, MatchAction)}
			}
			all = append(all, r)
		}
	}
	end := min(start+maxItems, len(all))
	type page struct {
		EvaluationResults struct {
			Member []result `xml:"member"`
		} `xml:"EvaluationResults"`
		IsTruncated bool   `xml:"IsTruncated"`
		Marker      string `xml:"Marker,omitempty"`
	}
	var out page
	out.EvaluationResults.Member = all[start:end]
	if end < len(all) {
		out.IsTruncated, out.Marker = true, strconv.Itoa(end)
	}
	writeResult(w, "SimulatePrincipalPolicy", "https://iam.amazonaws.com/doc/2010-05-08/", out)
}

// writeResult writes <Op>Response xmlns=...><Op>Result>...</Op>Result></Op>Response>.
func writeResult(w http.ResponseWriter, op, ns string, result any) {
	body, err := xml.Marshal(struct {
		XMLName xml.Name
		NS      string `xml:"xmlns,attr"`
		Result  any
	}{XMLName: xml.Name{Local: op + "Response"}, NS: ns, Result: wrap{op + "Result", result}})
	if err != nil {
		writeError(w, http.StatusInternalServerError, "ServiceFailure", "iamsim: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	_, _ = w.Write(body)
}

// wrap marshals v under an element of the given name.
type wrap struct {
	name string
	v    any
}

func (x wrap) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	return e.EncodeElement(x.v, xml.StartElement{Name: xml.Name{Local: x.name}})
}

// writeError writes the query protocol's error: ErrorResponse/Error with Code and Message.
func writeError(w http.ResponseWriter, status int, code, message string) {
	type errorBody struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	body, _ := xml.Marshal(struct {
		XMLName xml.Name  `xml:"ErrorResponse"`
		Error   errorBody `xml:"Error"`
	}{Error: errorBody{Code: code, Message: message}})
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func cloneMap(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
