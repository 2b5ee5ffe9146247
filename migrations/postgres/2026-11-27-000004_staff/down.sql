DROP TABLE authenticators;
DROP TABLE instance_audit_entries;
