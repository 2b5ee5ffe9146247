-- A counter of changes to an organization's options, kept by the database itself: every insert,
-- update and delete of an option row moves it on, whoever writes (this server, another instance,
-- a hand-made UPDATE). A process may keep the options it read for as long as the organization's
-- row, read fresh by each request, still has the version it read them at (docs/architecture.md,
-- "The options cache").
ALTER TABLE organizations ADD COLUMN options_version BIGINT NOT NULL DEFAULT 0;

CREATE FUNCTION organization_options_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        UPDATE organizations SET options_version = options_version + 1
        WHERE id = OLD.organization_id;
    ELSIF TG_OP = 'UPDATE' THEN
        UPDATE organizations SET options_version = options_version + 1
        WHERE id IN (OLD.organization_id, NEW.organization_id);
    ELSE
        UPDATE organizations SET options_version = options_version + 1
        WHERE id = NEW.organization_id;
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER organization_options_changed
AFTER INSERT OR UPDATE OR DELETE ON organization_options
FOR EACH ROW EXECUTE FUNCTION organization_options_changed();
