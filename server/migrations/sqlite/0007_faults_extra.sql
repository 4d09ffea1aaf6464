-- Faults over the REST API (issue 4), SQLite. Twin of ../postgres/0007_faults_extra.sql.

-- The fault's title, description, vendor, ticket and number folded for
-- search (gozcu_shared::validate::search_fold), so that "isik" finds "Işık"
-- and the search behaves the same on both engines, whose LIKE differ in how
-- they treat case. Written with every change of those fields.
ALTER TABLE faults ADD COLUMN search TEXT NOT NULL DEFAULT '';

-- What a transition set, repeated on its timeline entry so that the
-- timeline reads on its own ("assigned to Ayşe", "waiting for the vendor,
-- ticket TCK-42", "closed with fault form …") without the audit log.
ALTER TABLE fault_events ADD COLUMN assignee_id TEXT;
ALTER TABLE fault_events ADD COLUMN vendor TEXT;
ALTER TABLE fault_events ADD COLUMN vendor_ticket TEXT;
ALTER TABLE fault_events ADD COLUMN fault_form_run_id TEXT;

