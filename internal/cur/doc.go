// Package cur finds and reads AWS Cost and Usage Reports (legacy CUR 1.0 and
// CUR 2.0 Data Exports) from S3 or local folders, and sums them per usage
// account: line items, exact unblended cost and the usage-start range.
//
// Discover picks the newest version of a billing period's report (its
// assemblyId or executionId lets the caller skip versions already read),
// Scan streams every part in parallel with memory bounded by the number of
// accounts, ScanPaths serves `aws-invites cur scan`, and WriteLegacyReport
// writes small real reports for the sandbox and tests.
package cur
