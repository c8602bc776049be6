// Package orgsim is a wire-level simulator of the part of AWS Organizations that aws-invites uses: invitations
// (handshakes) of existing accounts into an organization, the membership they lead to, and billing transfers (an
// organization's management account designating another management account to manage and pay its bill).
//
// A *Sim is an http.Handler that speaks the AWS JSON 1.1 protocol exactly as the real endpoint does, so the real
// aws-sdk-go-v2 organizations client can talk to it (tests serve it with httptest.Server; the service's sandbox
// mounts it in process). It implements InviteAccountToOrganization, ListHandshakesForOrganization,
// DescribeHandshake, CancelHandshake, AcceptHandshake, DeclineHandshake, DescribeAccount, DescribeOrganization,
// ListAccounts and CloseAccount, and for billing transfers InviteOrganizationToTransferResponsibility,
// ListInboundResponsibilityTransfers, ListOutboundResponsibilityTransfers, DescribeResponsibilityTransfer and
// TerminateResponsibilityTransfer (not UpdateResponsibilityTransfer).
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
//   - ListAccounts lists the caller's organization, its management account included, by account id, 20 a page.
//   - CloseAccount, by the management account, closes a member: the account is SUSPENDED at once (AWS takes a few
//     minutes through PENDING_CLOSURE) and stays a member until Sim.RemoveMember (AWS removes it 90 days later).
//     Sim.PutAccount can give an account any State (PENDING_CLOSURE, CLOSED, ...).
//
// # Billing transfers
//
//   - InviteOrganizationToTransferResponsibility, by a management account (the bill-transfer account, the
//     transfer's target) to another management account (the bill-source, the transfer's source), creates a
//     transfer (rt-..., REQUESTED) and an OPEN handshake (Action TRANSFER_RESPONSIBILITY) naming it. Checked in
//     this order, each with the InvalidInputException reason the SDK names for it: Type BILLING (INVALID_ENUM),
//     Target an ACCOUNT of 12 digits, SourceName 1 to 128 printable ASCII characters (MIN_LENGTH_EXCEEDED,
//     MAX_LENGTH_EXCEEDED, INVALID_PATTERN), Notes at most 1024 characters, StartTimestamp at 00:00:00.000 UTC
//     (START_DATE_NOT_BEGINNING_OF_DAY) on the first of a month (START_DATE_NOT_BEGINNING_OF_MONTH) more than 24
//     hours ahead (START_DATE_TOO_EARLY); then an unverified sender (AccountOwnerNotVerifiedException), the caller
//     inviting itself (HandshakeConstraintViolationException SOURCE_AND_TARGET_CANNOT_MATCH), the caller's own
//     open transfer invitation of the source (DuplicateHandshakeException, "a handshake with the same action and
//     target already exists"), and any other transfer of the source pending, accepted, or withdrawn but in force
//     at the new start (HandshakeConstraintViolationException RESPONSIBILITY_TRANSFER_ALREADY_EXISTS, "you cannot
//     perform this operation with the current transfer"): an organization's bill has one bill-transfer account.
//     Transfer invitations count for no invitation quota.
//   - The handshake expires at the earlier of 15 days and 24 hours before the start, so acceptance is refused
//     (InvalidHandshakeTransitionException, the handshake EXPIRED) once less than 24 hours remain. Only the invited
//     account answers it, and only while it is a management account (a member account gets
//     AccessDeniedException), whatever members its organization has. ACCEPTED, DECLINED, CANCELED (by the sender)
//     and EXPIRED handshakes leave the transfer in the same status; an accepted transfer is in force from its start
//     and changes no membership.
//   - DescribeResponsibilityTransfer and TerminateResponsibilityTransfer answer either side (others get
//     ResponsibilityTransferNotFoundException); the lists answer the caller's side, inbound (the target's) or
//     outbound (the source's), in creation order, 20 a page, ListInbound also filtered by Id. Termination applies to
//     an ACCEPTED transfer only (InvalidResponsibilityTransferTransitionException otherwise,
//     ResponsibilityTransferAlreadyInStatusException when already WITHDRAWN): either side makes it WITHDRAWN with
//     its EndTimestamp, which must be the last millisecond of a month (END_DATE_NOT_END_OF_MONTH) not before now
//     nor the start (END_DATE_TOO_EARLY); without one, the end of the month the transfer is in force in. A
//     transfer's ARN is the caller's: .../transfer/o-<its organization>/billing/inbound|outbound/rt-....
//   - Transfers are never purged; their handshakes are, like any other.
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
// For billing transfers the simulator relies on these files of service/organizations v1.62.8:
// api_op_InviteOrganizationToTransferResponsibility.go (only a management account invites; Type BILLING only;
// Target ACCOUNT or EMAIL, of which the simulator takes ACCOUNT; SourceName, StartTimestamp and Type required;
// the answer is the Handshake); api_op_AcceptHandshake.go (only the management account accepts a
// TRANSFER_RESPONSIBILITY handshake); api_op_List{Inbound,Outbound}ResponsibilityTransfers.go (inbound: transfers
// the caller manages for another organization; outbound: those of its own organization managed elsewhere; both
// list invitations and transfers; no paginator, NextToken until null); api_op_DescribeResponsibilityTransfer.go and
// api_op_TerminateResponsibilityTransfer.go (Id required, EndTimestamp optional); types/types.go
// (ResponsibilityTransfer, TransferParticipant, HandshakeResource); types/enums.go (ResponsibilityTransferStatus
// REQUESTED, ACCEPTED, DECLINED, CANCELED, EXPIRED, WITHDRAWN; HandshakeResourceType RESPONSIBILITY_TRANSFER,
// TRANSFER_START_TIMESTAMP, TRANSFER_TYPE, MANAGEMENT_ACCOUNT, MANAGEMENT_EMAIL, MANAGEMENT_NAME; the reasons);
// types/errors.go (the meaning of each reason, the end as 23:59:59.999, the new exceptions); schemas/schemas.go
// (their HTTP statuses: 404 for ResponsibilityTransferNotFoundException, 409 for the two others). The API
// reference gives the patterns ^rt-[0-9a-z]{8,32}$ and ^[ -~]+$ and the transfer ARN's; the billing user guide
// gives the 24-hour acceptance deadline, starts at 00:00 UTC on the first of a month, and withdrawal by either
// side to WITHDRAWN. AWS documents neither how a transfer handshake's resources nest nor how
// TRANSFER_START_TIMESTAMP is written: the simulator lists them flat (ORGANIZATION, MANAGEMENT_ACCOUNT,
// MANAGEMENT_EMAIL, MANAGEMENT_NAME, RESPONSIBILITY_TRANSFER, TRANSFER_TYPE, TRANSFER_START_TIMESTAMP in RFC 3339,
// ACCOUNT, NOTES), its ARN kind is transfer_responsibility, and its state OPEN like an invitation's. Nor does it say
// how late a start may be (START_DATE_TOO_LATE) or how many transfers an account may have (the
// RESPONSIBILITY_TRANSFER_MAX_* quotas): the simulator bounds neither; Sim.Inject answers them.
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
//   - invited account 9992xxxxxxxx: the management account of another organization with members, 9982xxxxxxxx and
//     9983xxxxxxxx (its last eight digits; ListAccounts and DescribeAccount show them, nothing stores them); the
//     invitation is sent, but AcceptHandshake by that account fails with ALREADY_IN_AN_ORGANIZATION. It accepts a
//     billing transfer invitation, as any management account does;
//   - invited (source) account 9997xxxxxxxx of a billing transfer: ConstraintViolationException
//     UNSUPPORTED_PRICING at invite time (a pricing agreement Billing Transfer does not support);
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
// A Store keeps the world: NewMemoryStore in this process, or NewSQLStore in the service's database (the orgsim_*
// tables of migrations 00005 and 00009), so that several processes, or a restarted one, share the same handshakes
// and transfers. Each call runs in one transaction of a few
// indexed lookups (a handshake by id, the open one of an organization and account, a page of an organization's
// handshakes after a cursor, a membership by account, quota counts that stop at the quota), so it costs the same
// with ten handshakes or a hundred thousand. Time does its work at read time: an OPEN handshake is read as
// EXPIRED once 15 days old, and one purged (30 days after it ended) is not read at all; writes delete a few
// purged rows of the organization they lock. Calls that change an organization lock its row first, so two
// processes cannot both apply the same invitation or both fit in the last place of a quota; a call that changes a
// transfer locks both of its organizations, so two payers cannot both take one bill over.
package orgsim
