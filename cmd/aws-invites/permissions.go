package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/smithy-go/middleware"

	"github.com/cloudreseller/aws-invites/internal/awsiam"
	"github.com/cloudreseller/aws-invites/internal/awsiam/iamsim"
	"github.com/cloudreseller/aws-invites/internal/cloudhealth"
	"github.com/cloudreseller/aws-invites/internal/config"
	"github.com/cloudreseller/aws-invites/internal/reqlog"
)

// permissionChecker builds what checks each permission of a customer's CloudHealth role, through the template's
// checker role trusting CLOUDHEALTH_CHECKER_PRINCIPAL: real STS and IAM in aws mode, signed with the service's own
// credentials (which must be that principal's), none without the setting; in the sandbox the IAM simulator, served
// on a loopback port of its own, where every account has created the stack from the setup (the CloudHealth role
// with the published policy, and the checker role) when it is first checked. It shares the AWS calls' HTTP client.
func permissionChecker(ctx context.Context, cfg config.Config, log *slog.Logger, obs observability, httpClient aws.HTTPClient) (cloudhealth.PermissionChecker, error) {
	principal := cfg.CloudHealthCheckerPrincipal
	if principal == "" {
		return nil, nil
	}
	opts := awsiam.Options{HTTPClient: httpClient, APIOptions: []func(*middleware.Stack) error{reqlog.AWSRequestIDs}}
	if obs.aws != nil || obs.calls != nil {
		opts.APIOptions = append(opts.APIOptions, obs.aws.APIOption("", obs.calls))
	}
	if cfg.Mode == config.ModeAWS {
		awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("loading the AWS configuration: %w", err)
		}
		return awsiam.New(awsCfg, opts), nil
	}
	// The sandbox's IAM keeps its roles in memory: a restart forgets them, and the next check creates them again.
	sim := iamsim.New(iamsim.Options{Provision: func(accountID, externalID string) []iamsim.Role {
		return sandboxRoles(accountID, externalID, principal, log)
	}})
	key, err := sim.KeyFor(principal)
	if err != nil {
		return nil, fmt.Errorf("CLOUDHEALTH_CHECKER_PRINCIPAL: %w", err)
	}
	addr, err := serveLoopback(ctx, sim, "IAM simulator", log)
	if err != nil {
		return nil, err
	}
	opts.IAMEndpoint, opts.STSEndpoint = "http://"+addr, "http://"+addr
	return awsiam.New(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider(key, "sandbox", "")}, opts), nil
}

// sandboxRoles are the roles a sandbox account has once its owner created the stack from the setup with the
// checker: the CloudHealth role with the published policy and the checker role trusting the reseller's principal,
// both with the external id the check presents.
func sandboxRoles(accountID, externalID, principal string, log *slog.Logger) []iamsim.Role {
	setup, err := cloudhealth.NewSetup(cloudhealth.SetupInput{AccountID: accountID, ExternalID: externalID})
	if err != nil {
		log.Warn("sandbox IAM: no roles for the account", "account", accountID, "error", err)
		return nil
	}
	trust, policy := cloudhealth.CheckerRole(accountID, setup.RoleName, principal, externalID)
	doc := func(d cloudhealth.PolicyDocument) string {
		b, _ := json.Marshal(d) // plain structs of strings: cannot fail
		return string(b)
	}
	return []iamsim.Role{
		{Name: setup.RoleName, TrustPolicy: doc(setup.TrustPolicy), Policies: map[string]string{setup.PolicyName: doc(setup.PermissionsPolicy)}},
		{Name: cloudhealth.CheckerRoleName, TrustPolicy: doc(trust), Policies: map[string]string{cloudhealth.CheckerPolicyName: doc(policy)}},
	}
}
