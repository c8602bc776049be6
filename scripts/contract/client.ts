// What a typed client of aws-invites writes, against the types openapi-typescript generates from openapi.yaml
// (TestTypedClient in the api package generates them as api.d.ts beside this file and compiles it with
// tsc --strict). It must compile: requests may leave out every field and parameter that has a default, and
// responses always carry what the service fills in.
import type { components, operations } from "./api";

type Schemas = components["schemas"];

// Requests without their defaulted fields: the CUR format (legacy), the invite's kind (join), an endpoint's
// enabled flag (true), a list's limit (20), the handshakes' unclaimed filter (false).
export const profile: Schemas["BillingProfileInput"] = {
  customerId: "acme",
  name: "Acme",
  managementAccountId: "111111111111",
  cur: { bucket: "acme-cur", reportName: "hourly" },
};
export const invite: Schemas["CreateInviteRequest"] = { accountId: "1234-5678-9012" };
export const endpoint: Schemas["WebhookEndpointInput"] = { url: "https://partner.example.com/hooks" };
export const listQuery: NonNullable<operations["listInvites"]["parameters"]["query"]> = {};
export const handshakesQuery: NonNullable<operations["listPayerHandshakes"]["parameters"]["query"]> = {};
export const conditional: NonNullable<operations["putBillingProfile"]["parameters"]["header"]> = { "If-Match": '"v1"' };

// Responses: the fields the service always sends are not optional.
export function curFormat(bp: Schemas["BillingProfile"]): "legacy" | "cur2" | undefined {
  return bp.cur?.format;
}
export function inviteKind(i: Schemas["Invite"]): "join" | "billing_transfer" {
  return i.kind;
}
export function etag(r: operations["getBillingProfile"]["responses"][200]): string {
  return r.headers.ETag;
}

// Stable codes are unions a client can switch on, not any string.
export function isRetryable(p: Schemas["Problem"]): boolean {
  switch (p.code) {
    case "rate_limited":
    case "aws_unavailable":
    case "database_unavailable":
      return true;
    default:
      return false;
  }
}
export const step: Schemas["NextStepCode"] = "check_email";
// @ts-expect-error: not a problem code of the API
export const unknownCode: Schemas["ProblemCode"] = "no_such_code";
