-- Run once by the postgres image on an empty data volume (deploy/compose.yml). POSTGRES_DB
-- creates anxin_tracker; the account store and the audit trail get databases of their own, so
-- the append-only audit trail shares no schema with anything else.
CREATE DATABASE anxin_bank OWNER anxin;
CREATE DATABASE anxin_audit OWNER anxin;
