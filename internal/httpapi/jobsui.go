package httpapi

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/cloudreseller/aws-invites/internal/invite"
)

// JobsUIPath is where River's web UI (the background jobs: which payer's reconciliation failed, which job retries
// and why) is served to platform administrators.
const JobsUIPath = "/admin/jobs"

// jobsUICookie holds a platform administrator's token for the UI's own requests: a browser page cannot send an
// Authorization header with the UI's script requests, so the login form puts the token in this cookie (HttpOnly,
// SameSite=Strict, for the UI's path only). Every request verifies it again, as a bearer token would be.
const jobsUICookie = "aws_invites_jobs_ui"

// mountJobsUI serves ui under JobsUIPath to platform administrators only, read-only: the token comes from the
// Authorization header (scripts, curl) or from the cookie the login form sets (browsers); River UI's changes
// (cancel, retry, delete a job) are refused with 405, since a job removed by hand can lose a webhook delivery or a
// payer's pass, and the service's own retries already apply.
func mountJobsUI(e *echo.Echo, ui http.Handler, v Verifier) {
	e.GET(JobsUIPath, func(c echo.Context) error { return c.Redirect(http.StatusMovedPermanently, JobsUIPath+"/") })
	e.GET(JobsUIPath+"/login", jobsUILoginForm)
	e.POST(JobsUIPath+"/login", jobsUILogin(v))
	e.POST(JobsUIPath+"/logout", jobsUILogout)
	e.Any(JobsUIPath+"/*", func(c echo.Context) error {
		req := c.Request()
		page := !strings.HasPrefix(req.URL.Path, JobsUIPath+"/api/")
		token, ok := bearer(req.Header.Get(echo.HeaderAuthorization))
		if !ok {
			if ck, err := req.Cookie(jobsUICookie); err == nil && ck.Value != "" {
				token, ok = ck.Value, true
			}
		}
		if !ok {
			if page && req.Method == http.MethodGet {
				return c.Redirect(http.StatusSeeOther, JobsUIPath+"/login")
			}
			return invite.Errorf(invite.CodeUnauthenticated, "send a platform administrator's token: Authorization: Bearer <token>, or sign in at %s/login", JobsUIPath)
		}
		p, err := verifyOnce(req.Context(), v, token)
		if err != nil {
			if page && req.Method == http.MethodGet {
				return c.Redirect(http.StatusSeeOther, JobsUIPath+"/login?expired=1")
			}
			return invite.Errorf(invite.CodeUnauthenticated, "the token is not valid (expired?): sign in again at %s/login", JobsUIPath)
		}
		if !p.IsPlatformAdmin() {
			return invite.Errorf(invite.CodeForbidden, "the background jobs are shown to platform administrators only (role %s)", invite.RolePlatformAdmin)
		}
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			c.Response().Header().Set(echo.HeaderAllow, "GET, HEAD")
			return invite.Errorf(invite.CodeMethodNotAllowed, "the background jobs view is read-only: jobs are retried by the service itself")
		}
		ui.ServeHTTP(c.Response(), req)
		return nil
	})
}

var jobsUILoginPage = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>aws-invites: background jobs</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>Background jobs</h1>
<p>For platform administrators: paste a token with the <code>platform_admin</code> role. It is kept in a cookie for
this page only, and checked on every request.</p>
{{if .}}<p role="alert"><strong>{{.}}</strong></p>{{end}}
<form method="post" action="login">
<label>Token <input type="password" name="token" autocomplete="off" required style="width: 100%"></label>
<p><button type="submit">Sign in</button></p>
</form>
</body></html>
`))

func jobsUILoginForm(c echo.Context) error {
	msg := ""
	if c.QueryParam("expired") != "" {
		msg = "Your token is no longer valid: sign in again."
	}
	return renderLogin(c, http.StatusOK, msg)
}

func renderLogin(c echo.Context, status int, msg string) error {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'")
	h.Set("Cache-Control", "no-store")
	h.Set(echo.HeaderContentType, echo.MIMETextHTMLCharsetUTF8)
	c.Response().WriteHeader(status)
	return jobsUILoginPage.Execute(c.Response(), msg)
}

// jobsUILogin checks the token pasted in the form and keeps it in the UI's cookie.
func jobsUILogin(v Verifier) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		if !sameOrigin(req) {
			return invite.Errorf(invite.CodeForbidden, "sign in from the service's own page, %s/login", JobsUIPath)
		}
		token := strings.TrimSpace(c.FormValue("token"))
		p, err := v.Verify(req.Context(), token)
		if token == "" || err != nil {
			return renderLogin(c, http.StatusUnauthorized, "That token is not valid.")
		}
		if !p.IsPlatformAdmin() {
			return renderLogin(c, http.StatusForbidden, "That token is not a platform administrator's.")
		}
		c.SetCookie(&http.Cookie{Name: jobsUICookie, Value: token, Path: JobsUIPath + "/", HttpOnly: true,
			Secure: secureRequest(req), SameSite: http.SameSiteStrictMode})
		return c.Redirect(http.StatusSeeOther, JobsUIPath+"/")
	}
}

func jobsUILogout(c echo.Context) error {
	if !sameOrigin(c.Request()) {
		return invite.Errorf(invite.CodeForbidden, "sign out from the service's own page")
	}
	c.SetCookie(&http.Cookie{Name: jobsUICookie, Value: "", Path: JobsUIPath + "/", MaxAge: -1, HttpOnly: true,
		Secure: secureRequest(c.Request()), SameSite: http.SameSiteStrictMode})
	return c.Redirect(http.StatusSeeOther, JobsUIPath+"/login")
}

// sameOrigin reports whether a form post comes from this service's own pages: browsers send Origin with posts; a
// post without one (curl) carries no cookie of a browser's to abuse.
func sameOrigin(req *http.Request) bool {
	origin := req.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == req.Host
}

// secureRequest reports whether the browser reached the service over https (directly, or through a proxy that
// says so), so that the cookie is never sent over plain http then.
func secureRequest(req *http.Request) bool {
	return req.TLS != nil || strings.EqualFold(req.Header.Get("X-Forwarded-Proto"), "https")
}
