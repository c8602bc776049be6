// Package notify tells people and systems what happens to invites: the domain (package invite) writes events with
// every change; Webhooks manages the endpoints that receive them and who hears of them by email, and the Notifier
// turns each event into webhook deliveries and email, through the ports the job engine, the webhook sender and the
// mailer implement. Access to a billing profile's endpoints follows the domain's own rules (invite.Access).
package notify
