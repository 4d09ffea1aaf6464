-- A record's state is about 3 KB of JSON, over PostgreSQL's 2 KB TOAST
-- threshold, so every push compresses it and every pull decompresses it.
-- lz4 does both several times faster than the default pglz, for about the
-- same size. A server built without lz4 keeps pglz: this is a speed-up,
-- not a requirement.
DO $$
BEGIN
    ALTER TABLE sync_records ALTER COLUMN state SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    RAISE NOTICE 'lz4 is not available; sync_records.state stays pglz-compressed';
END
$$;
