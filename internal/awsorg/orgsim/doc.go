// Package orgsim is a wire-level simulator of the part of AWS Organizations that aws-invites uses: invitations
// (handshakes) of existing accounts into an organization, and the membership they lead to.
//
// A *Sim is an http.Handler that speaks the AWS JSON 1.1 protocol exactly as the real endpoint does, so the real
// aws-sdk-go-v2 organizations client can talk to it (tests serve it with httptest.Server; the service's sandbox
// mounts it in process). It implements InviteAccountToOrganization, ListHandshakesForOrganization,
// DescribeHandshake, CancelHandshake, AcceptHandshake, DeclineHandshake, DescribeAccount and DescribeOrganization.
//
// # Who is calling
//
// The simulator does not verify SigV4 signatures (it has no secrets). It reads the access key id from the
// Authorization header's Credential: when it ends with 12 digits, those digits are the caller's account id
// (AccessKeyFor builds such a key). Unsigned requests and other keys get AccessDeniedException. Any account that
// is not a member of another organization is treated as a management account: its organization, whose id is
// derived from the account id, exists from its first call.
//
// # Rules
//
//   - Invitations target an ACCOUNT with a 12-digit id; notes are at most 1024 characters.
//   - A second invitation while one is OPEN for the same organization and account is DuplicateHandshakeException;
//     inviting a member of the organization is HandshakeConstraintViolationException ALREADY_IN_AN_ORGANIZATION.
//   - Options.MaxAccounts (default 10) bounds the organization: the management account, its members and its OPEN
//     invitations together (ACCOUNT_NUMBER_LIMIT_EXCEEDED). Options.MaxInvitesPerDay (default 20) bounds the
//     invitations sent in any rolling 24 hours, accepted ones excepted (HANDSHAKE_RATE_LIMIT_EXCEEDED).
//   - OPEN handshakes become ACCEPTED or DECLINED by the invited account, CANCELED by the sender, and EXPIRED 15
//     days after they were requested. Ended handshakes disappear 30 days after they ended. Time comes from
//     Options.Clock and these changes are computed when state is next read.
//   - Accepting makes the account a member (JoinedMethod INVITED) and removes it from any other organization, unless
//     it manages an organization that has members (ALREADY_IN_AN_ORGANIZATION until it has none).
//
// # Sandbox conventions
//
// With Options.Conventions set, account ids tell the simulator how to behave, so that every error can be tried
// from the sandbox without setting anything up (an account described with Sim.PutAccount no longer follows them):
//
//   - invited account 9991xxxxxxxx: a member of another organization that refuses the invitation
//     (HandshakeConstraintViolationException ALREADY_IN_AN_ORGANIZATION at invite time);
//   - invited account 9992xxxxxxxx: the management account of another organization with members; the invitation
//     is sent, but AcceptHandshake by that account fails with ALREADY_IN_AN_ORGANIZATION;
//   - invited account 9993xxxxxxxx: PAYMENT_INSTRUMENT_REQUIRED at invite time;
//   - invited account 9994xxxxxxxx: ORGANIZATION_FROM_DIFFERENT_SELLER_OF_RECORD at invite time;
//   - management (calling) account 9995xxxxxxxx: its email is unverified, so its invitations fail with
//     AccountOwnerNotVerifiedException.
//
// # Faults and persistence
//
// Sim.Inject makes chosen calls fail (any error code, with the status AWS would use, or 400 for throttling and
// concurrent modification as seen from the real service), slow down, or lose their connection, before or after
// the call takes effect. Sim.Calls counts calls per operation.
//
// State is a JSON document kept by a Persistence: in memory by default, or in the service's database so that
// several processes, or a restarted one, share the same handshakes.
package orgsim
