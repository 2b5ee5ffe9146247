DROP TABLE org_auth_tokens;
DROP TABLE api_tokens;
