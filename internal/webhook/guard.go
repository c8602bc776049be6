package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"time"
)

// Resolver looks up the addresses of a host; *net.Resolver is one, and tests give their own.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// ErrRefused is wrapped by every refusal of the guard, so callers can tell a refused URL from a network failure.
var ErrRefused = errors.New("webhook: url refused")

// Guard decides which endpoints deliveries may reach. The zero value is the production guard: https only, public
// addresses only, the system resolver.
type Guard struct {
	// AllowPrivate allows http and any address: the sandbox, whose receivers run next to it.
	AllowPrivate bool
	// Resolver resolves hosts; nil means net.DefaultResolver.
	Resolver Resolver
	// Dialer dials the vetted addresses; nil means a net.Dialer with a 10 second timeout.
	Dialer *net.Dialer
}

func (g *Guard) resolver() Resolver {
	if g.Resolver == nil {
		return net.DefaultResolver
	}
	return g.Resolver
}

// CheckURL reports whether rawURL may be a webhook endpoint, resolving its host: call it when an endpoint is
// registered or changed, so that the partner hears of a refused URL at once rather than through failed deliveries.
func (g *Guard) CheckURL(ctx context.Context, rawURL string) error {
	u, err := g.parse(rawURL)
	if err != nil {
		return err
	}
	_, err = g.vet(ctx, u.Hostname())
	return err
}

// parse checks what can be checked without the network: the scheme and that there is a host.
func (g *Guard) parse(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: %q is not a url", ErrRefused, rawURL)
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && g.AllowPrivate:
	case u.Scheme == "http":
		return nil, fmt.Errorf("%w: %s: only https endpoints are allowed", ErrRefused, u.Redacted())
	default:
		return nil, fmt.Errorf("%w: %s: scheme %q, want https", ErrRefused, u.Redacted(), u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%w: %s has no host", ErrRefused, u.Redacted())
	}
	return u, nil
}

// vet resolves host and returns its addresses when every one may be reached. One refused address refuses them
// all: a host that resolves to both a public and an internal address is an attempt to get past the check.
func (g *Guard) vet(ctx context.Context, host string) ([]netip.Addr, error) {
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(strings.TrimSuffix(host, ".")); err == nil {
		addrs = []netip.Addr{a}
	} else {
		// Whatever the resolver makes of the name (numeric forms such as "2130706433" included), it is its
		// answer that is checked and, at delivery, dialed.
		addrs, err = g.resolver().LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, fmt.Errorf("webhook: resolve %s: %w", host, err)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("webhook: resolve %s: no addresses", host)
		}
	}
	if g.AllowPrivate {
		return addrs, nil
	}
	for _, a := range addrs {
		if why := internal(a); why != "" {
			if a.String() == host {
				return nil, fmt.Errorf("%w: %s is %s", ErrRefused, host, why)
			}
			return nil, fmt.Errorf("%w: %s resolves to %s, %s", ErrRefused, host, a, why)
		}
	}
	return addrs, nil
}

// DialContext is an http.Transport's DialContext that resolves the host again, vets every address, and dials only
// the vetted addresses: the check is made on the very addresses connected to, so DNS rebinding between CheckURL
// and delivery, or between two deliveries, cannot reach an internal address.
func (g *Guard) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, fmt.Errorf("webhook: dial %s: %w", address, err)
	}
	addrs, err := g.vet(ctx, host)
	if err != nil {
		return nil, err
	}
	d := g.Dialer
	if d == nil {
		d = &net.Dialer{Timeout: 10 * time.Second}
	}
	var errs []error
	for _, a := range addrs {
		conn, err := d.DialContext(ctx, network, net.JoinHostPort(a.String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, fmt.Errorf("webhook: dial %s: %w", address, errors.Join(errs...))
}

// internalPrefixes are the ranges that are not the public internet, beyond what netip.Addr's predicates cover,
// each with the words an error uses for it.
var internalPrefixes = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), `a "this network" address`},
	{netip.MustParsePrefix("100.64.0.0/10"), "a shared (carrier-grade NAT) address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("192.0.2.0/24"), "a documentation address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("198.51.100.0/24"), "a documentation address"},
	{netip.MustParsePrefix("203.0.113.0/24"), "a documentation address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("::/96"), "an IPv4-compatible or reserved IPv6 address"},
	{netip.MustParsePrefix("100::/64"), "a discard address"},
	{netip.MustParsePrefix("2001:db8::/32"), "a documentation address"},
	{netip.MustParsePrefix("fec0::/10"), "a site-local address"},
}

// metadata are the cloud instance metadata services, named in errors since they are what SSRF usually aims at.
var metadata = []netip.Addr{netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254")}

// nat64 is the well-known NAT64 prefix, whose addresses carry an IPv4 address in their last 32 bits.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// internal returns why a may not be dialed in production, or "" when it is a public address.
func internal(a netip.Addr) string {
	a = a.WithZone("")
	// IPv4-mapped (::ffff:a.b.c.d) and NAT64 addresses reach the IPv4 address inside them.
	if a.Is4In6() {
		a = a.Unmap()
	} else if nat64.Contains(a) {
		b := a.As16()
		a = netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})
	}
	for _, m := range metadata {
		if a == m {
			return "the cloud instance metadata service"
		}
	}
	switch {
	case !a.IsValid():
		return "not an address"
	case a.IsUnspecified():
		return "an unspecified address"
	case a.IsLoopback():
		return "a loopback address"
	case a.IsPrivate():
		return "a private address"
	case a.IsLinkLocalUnicast():
		return "a link-local address"
	case a.IsMulticast():
		return "a multicast address"
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the broadcast address"
	}
	for _, p := range internalPrefixes {
		if p.prefix.Contains(a) {
			return p.why
		}
	}
	return ""
}
