// Package reqlog carries what support needs to find in the logs through a request's or a job's context: the
// attributes every line logged with that context carries (a job's id, kind and payer), and the AWS request ids of
// the AWS calls a request made, collected by an AWS SDK middleware and written on the request's log line.
package reqlog

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"

	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/smithy-go/middleware"
)

type attrsKey struct{}

// WithAttrs returns a context whose log lines carry attrs, after those ctx already gives them.
func WithAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	return context.WithValue(ctx, attrsKey{}, append(slices.Clip(Attrs(ctx)), attrs...))
}

// Attrs are the attributes a context gives every line logged with it.
func Attrs(ctx context.Context) []slog.Attr {
	a, _ := ctx.Value(attrsKey{}).([]slog.Attr)
	return a
}

// Calls collects the AWS request ids of one request's AWS calls. It is safe for concurrent use.
type Calls struct {
	mu   sync.Mutex
	ids  []string
	made int // calls begun, answered or not
}

type callsKey struct{}

// Collect returns a context in which the AWS calls made record their request ids in the returned Calls.
func Collect(ctx context.Context) (context.Context, *Calls) {
	c := &Calls{}
	return context.WithValue(ctx, callsKey{}, c), c
}

// CallsOf is the Calls a context from Collect records in; nil for another context.
func CallsOf(ctx context.Context) *Calls {
	c, _ := ctx.Value(callsKey{}).(*Calls)
	return c
}

// AWSRequestIDs are the request ids collected, in the order the calls ended; none for nil.
func (c *Calls) AWSRequestIDs() []string {
	if c == nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.ids)
}

// Made reports whether an AWS call was begun (whether or not AWS answered it); false for nil.
func (c *Calls) Made() bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.made > 0
}

func (c *Calls) begin() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.made++
}

func (c *Calls) add(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.ids) < maxIDs {
		c.ids = append(c.ids, id)
	}
}

// maxIDs bounds the ids one request keeps: a request makes a few AWS calls (a refresh pages through a payer's
// handshakes), and one log line must stay readable.
const maxIDs = 32

// AWSRequestIDs is an AWS SDK API option (aws.Config.APIOptions) that records the request id of every call made
// with a context from Collect: the one AWS answered the call's last attempt with, success or error.
func AWSRequestIDs(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("reqlog.AWSRequestIDs",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			calls := CallsOf(ctx)
			if calls == nil {
				return next.HandleInitialize(ctx, in)
			}
			calls.begin()
			out, md, err := next.HandleInitialize(ctx, in)
			id, ok := awsmiddleware.GetRequestIDMetadata(md)
			if !ok || id == "" {
				// A refused call carries its id in the error (the SDK's ResponseError); no id means AWS never
				// answered.
				var withID interface{ ServiceRequestID() string }
				if errors.As(err, &withID) {
					id = withID.ServiceRequestID()
				}
			}
			if id != "" {
				calls.add(id)
			}
			return out, md, err
		}), middleware.Before)
}
