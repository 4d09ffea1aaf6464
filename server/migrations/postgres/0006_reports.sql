-- Reports (issue 4), PostgreSQL. Twin of ../sqlite/0006_reports.sql.

-- Report templates an administrator edited (typst source), by report kind;
-- a kind without a row uses the built-in template.
CREATE TABLE report_templates (
    kind       TEXT PRIMARY KEY,
    source     TEXT NOT NULL,
    updated_by TEXT,
    updated_at BIGINT NOT NULL
);

-- Every official paper gets a document number (GZC-<year>-<seq>), kept
-- with what it was made from.
CREATE TABLE report_documents (
    number     TEXT PRIMARY KEY,
    year       BIGINT NOT NULL,
    seq        BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    ref_id     TEXT,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (year, seq)
);
