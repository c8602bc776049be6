package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/smithy-go/middleware"

	"github.com/cloudreseller/aws-invites/internal/awsbc"
	"github.com/cloudreseller/aws-invites/internal/awsbc/bcsim"
	"github.com/cloudreseller/aws-invites/internal/awsorg"
	"github.com/cloudreseller/aws-invites/internal/config"
	"github.com/cloudreseller/aws-invites/internal/invite"
	"github.com/cloudreseller/aws-invites/internal/reqlog"
)

// billingGroups builds the AWS Billing Conductor adapter: over real AWS in aws mode, over the simulator in the
// sandbox (served on a loopback port of its own, asking the Organizations simulator which accounts are members).
// Either way each payer's calls are signed with its Organizations client's credentials (one assumed-role session)
// and share its HTTP client.
func billingGroups(ctx context.Context, cfg config.Config, orgs *awsorg.Client, clock invite.Clock, log *slog.Logger, obs observability) (*awsbc.Client, error) {
	opts := awsbc.Options{CredentialsFor: orgs.Credentials, HTTPClient: orgs.HTTPClient(),
		APIOptions: func(payer string) []func(*middleware.Stack) error {
			if obs.aws == nil && obs.calls == nil {
				return nil
			}
			return []func(*middleware.Stack) error{obs.aws.APIOption(payer, obs.calls)}
		}}
	if cfg.Mode == config.ModeAWS {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("loading the AWS configuration: %w", err)
		}
		awsCfg.APIOptions = append(awsCfg.APIOptions, reqlog.AWSRequestIDs)
		return awsbc.New(awsCfg, opts), nil
	}
	// The sandbox's Billing Conductor keeps its groups and associations in memory: a restart forgets them, and the
	// next pass associates the joined accounts again. Any well-formed group ARN of a payer names a group
	// (Conventions), so an operator can try a profile's billing group without creating one.
	sim := bcsim.New(bcsim.Options{Clock: clock.Now, Conventions: true,
		InFamily: func(ctx context.Context, payer, accountID string) (bool, error) {
			_, err := orgs.DescribeAccount(ctx, invite.Payer{ManagementAccountID: payer}, accountID)
			if invite.IsCode(err, invite.CodeNotFound) {
				return false, nil
			}
			return err == nil, err
		}})
	addr, err := serveLoopback(ctx, sim, "AWS Billing Conductor simulator", log)
	if err != nil {
		return nil, err
	}
	opts.Endpoint = "http://" + addr
	return awsbc.New(aws.Config{Region: "us-east-1", APIOptions: []func(*middleware.Stack) error{reqlog.AWSRequestIDs}}, opts), nil
}
