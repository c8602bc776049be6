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
//   - Accepting makes the account a member (JoinedMethod INVITED) and moves it out of any other organization it
//     was a member of, unless it manages an organization that has members (ALREADY_IN_AN_ORGANIZATION until it has
//     none). An organization the account managed alone ceases to exist.
//
// # What the rules rest on
//
// AWS changed in December 2025: a member account of another organization can accept an invitation directly, and
// AWS moves it. The SDK's documentation (service/organizations v1.62.8) is what the simulator follows:
// api_op_AcceptHandshake.go says that when "the account departed one organization and joined another", AWS logs
// AccountDepartedOrganization (departureMethod LEFT) in the old management account's CloudTrail and
// AccountJoinedOrganization (joinedMethod INVITED) in the new one (the simulator moves the account and keeps no
// such log); that only a member account can accept an INVITE; and that accepted handshakes stay visible 30 days.
// api_op_InviteAccountToOrganization.go says only the management account invites and the answer is the
// Handshake. types/errors.go gives no reason more precise than ALREADY_IN_AN_ORGANIZATION ("the invited account is
// already a member of an organization") for a management account that still has members, so accepting answers
// that. types/enums.go's HandshakeResourceType and types.HandshakeResource shape what every handshake carries, as
// AWS's do: Parties (the ORGANIZATION id, the ACCOUNT), then Resources: the ORGANIZATION (o-...) with its nested
// MASTER_EMAIL, MASTER_NAME and ORGANIZATION_FEATURE_SET, the ACCOUNT, and NOTES when there are notes.
//
// # Sandbox conventions
//
// With Options.Conventions set, account ids tell the simulator how to behave, so that every error can be tried
// from the sandbox without setting anything up (an account described with Sim.PutAccount no longer follows them):
//
//   - invited account 9991xxxxxxxx: a member of another organization, that of 9990xxxxxxxx (the same last eight
//     digits), which the simulator creates the first time it meets the account. It can accept directly: the
//     invitation is sent, and AcceptHandshake moves it to the inviting organization (JoinedMethod INVITED). Any
//     account made a member with PutAccount's MemberOf or AddMember moves the same way.
//   - invited account 9996xxxxxxxx: a member of another organization that AWS still does not move; the
//     invitation is refused with HandshakeConstraintViolationException ALREADY_IN_AN_ORGANIZATION.
//   - invited account 9992xxxxxxxx: the management account of another organization with members; the invitation
//     is sent, but AcceptHandshake by that account fails with ALREADY_IN_AN_ORGANIZATION;
//   - invited account 9993xxxxxxxx: PAYMENT_INSTRUMENT_REQUIRED at invite time;
//   - invited account 9994xxxxxxxx: ORGANIZATION_FROM_DIFFERENT_SELLER_OF_RECORD at invite time;
//   - management (calling) account 9995xxxxxxxx: its email is unverified, so its invitations fail with
//     AccountOwnerNotVerifiedException.
//
// # Faults
//
// Sim.Inject makes chosen calls fail (any error code, with the status AWS would use, or 400 for throttling and
// concurrent modification as seen from the real service), slow down, or lose their connection, before or after
// the call takes effect. Sim.Calls counts calls per operation.
//
// # Storage
//
// A Store keeps the world: NewMemoryStore in this process, or NewSQLStore in the service's database, so that
// several processes, or a restarted one, share the same handshakes. Each call runs in one transaction of a few
// indexed lookups (a handshake by id, the open one of an organization and account, a page of an organization's
// handshakes after a cursor, a membership by account, quota counts that stop at the quota), so it costs the same
// with ten handshakes or a hundred thousand. Time does its work at read time: an OPEN handshake is read as
// EXPIRED once 15 days old, and one purged (30 days after it ended) is not read at all; writes delete a few
// purged rows of the organization they lock. Calls that change an organization lock its row first, so two
// processes cannot both apply the same invitation or both fit in the last place of a quota.
package orgsim
