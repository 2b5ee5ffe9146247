DROP INDEX organization_members_org_email;
ALTER TABLE organization_members DROP COLUMN email_normalized;
CREATE UNIQUE INDEX organization_members_org_email ON organization_members (organization_id, lower(email));

DROP INDEX user_emails_email_normalized;
DROP INDEX user_emails_user_email;
ALTER TABLE user_emails DROP COLUMN email_normalized;
CREATE UNIQUE INDEX user_emails_user_email ON user_emails (user_id, lower(email));
CREATE INDEX user_emails_email_ci ON user_emails (lower(email));

DROP INDEX users_email_normalized;
ALTER TABLE users DROP COLUMN email_normalized;
CREATE INDEX users_email_ci ON users (lower(email));

ALTER INDEX rate_events_scope RENAME TO auth_failures_scope;
ALTER TABLE rate_events RENAME TO auth_failures;

DROP TABLE sessions;
