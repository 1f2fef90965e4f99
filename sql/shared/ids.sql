-- ff_engine, both editions: identifiers (docs/semantics.md §1), as core/src/ids.rs: lane ids, execution
-- ids `{fp:N}:<uuid>` and their CRC-16/XMODEM partitions.

-- lane_id: 1-64 bytes of printable ASCII (space included).
CREATE FUNCTION ff_check_lane_id(lane_id text) RETURNS text
LANGUAGE sql VOLATILE PARALLEL SAFE AS $$
    SELECT CASE WHEN lane_id !~ '^[\x20-\x7e]{1,64}$'
                THEN ff_reject(lane_id, 'invalid_lane_id', 'lane_id must be 1-64 bytes of printable ASCII') ELSE lane_id END
$$;
COMMENT ON FUNCTION ff_check_lane_id(text) IS 'WF001 invalid_lane_id unless a valid lane id; the lane id (internal).';

-- CRC-16/XMODEM: poly 0x1021, init 0, no reflection, no final xor; a byte at a time through the
-- 256-entry table of the polynomial. The table is a constant of the loop's expression, not a
-- variable: PL/pgSQL copies a variable's array into its own form on every call (~25 000
-- instructions), while a subscript of the plan's constant reads the element in place.
CREATE FUNCTION ff_crc16_xmodem(data bytea) RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    crc integer := 0;
BEGIN
    FOR i IN 0 .. length(data) - 1 LOOP
        crc := ((crc << 8) & 65535) # ('{0,4129,8258,12387,16516,20645,24774,28903,33032,37161,41290,45419,49548,53677,57806,61935,4657,528,12915,8786,21173,17044,29431,25302,37689,33560,45947,41818,54205,50076,62463,58334,9314,13379,1056,5121,25830,29895,17572,21637,42346,46411,34088,38153,58862,62927,50604,54669,13907,9842,5649,1584,30423,26358,22165,18100,46939,42874,38681,34616,63455,59390,55197,51132,18628,22757,26758,30887,2112,6241,10242,14371,51660,55789,59790,63919,35144,39273,43274,47403,23285,19156,31415,27286,6769,2640,14899,10770,56317,52188,64447,60318,39801,35672,47931,43802,27814,31879,19684,23749,11298,15363,3168,7233,60846,64911,52716,56781,44330,48395,36200,40265,32407,28342,24277,20212,15891,11826,7761,3696,65439,61374,57309,53244,48923,44858,40793,36728,37256,33193,45514,41451,53516,49453,61774,57711,4224,161,12482,8419,20484,16421,28742,24679,33721,37784,41979,46042,49981,54044,58239,62302,689,4752,8947,13010,16949,21012,25207,29270,46570,42443,38312,34185,62830,58703,54572,50445,13538,9411,5280,1153,29798,25671,21540,17413,42971,47098,34713,38840,59231,63358,50973,55100,9939,14066,1681,5808,26199,30326,17941,22068,55628,51565,63758,59695,39368,35305,47498,43435,22596,18533,30726,26663,6336,2273,14466,10403,52093,56156,60223,64286,35833,39896,43963,48026,19061,23124,27191,31254,2801,6864,10931,14994,64814,60687,56684,52557,48554,44427,40424,36297,31782,27655,23652,19525,15522,11395,7392,3265,61215,65342,53085,57212,44955,49082,36825,40952,28183,32310,20053,24180,11923,16050,3793,7920}'::integer[])[(((crc >> 8) # get_byte(data, i)) & 255) + 1];
    END LOOP;
    RETURN crc;
END
$$;
COMMENT ON FUNCTION ff_crc16_xmodem(bytea) IS 'CRC-16/XMODEM (internal).';

-- The partition of a new execution: by its flow's 16 raw bytes when it has one, else by its lane.
-- STABLE, not IMMUTABLE: convert_to() is STABLE, and only so does PostgreSQL inline this into its caller.
-- The CRC by its schema: the function is inlined into the caller's statement, which may run under
-- another search path (a statement Citus sends to a worker, a caller that names the schema).
CREATE FUNCTION ff_partition_for(lane_id text, flow_id uuid) RETURNS smallint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT (@extschema@.ff_crc16_xmodem(CASE WHEN flow_id IS NULL THEN convert_to(lane_id, 'UTF8') ELSE uuid_send(flow_id) END) % 256)::smallint
$$;
COMMENT ON FUNCTION ff_partition_for(text, uuid) IS 'Partition of a new execution (internal).';

-- An execution's partition and uuid: what its id `{fp:N}:<uuid>` holds.
CREATE TYPE ff_execution_ref AS (partition_key smallint, execution_uuid uuid);
COMMENT ON TYPE ff_execution_ref IS 'An execution''s partition and uuid (internal).';

-- Parse an execution id strictly, with the Rust edition's messages (WF001 invalid_execution_id). A
-- declared result type, not OUT parameters: PostgreSQL builds the result descriptor of OUT parameters
-- on every call, a declared type's comes from its cache.
CREATE FUNCTION ff_parse_execution_id(execution_id text) RETURNS ff_execution_ref
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    rest text;
    close integer;
    digits text := substr(execution_id, 5, greatest(octet_length(execution_id) - 42, 0));
    uuid_text text;
    why text;
BEGIN
    -- A well-formed id: the shape by LIKE (the uuid's four hyphens in place), its uuid lowercase hex
    -- but for those four (a regular expression without counted repetitions), the partition's digits.
    -- One regular expression of the whole id costs more (~50 000 instructions: PostgreSQL builds its
    -- automaton's states anew for every match, one per position of {8}, {4}, ...), translate() of the
    -- uuid to its hyphens too (~27 000 against ~16 000: it steps through both strings character by
    -- character). The checks below only say what is wrong with another.
    IF execution_id LIKE '{fp:%}:________-____-____-____-____________'
       AND right(execution_id, 36) ~ '^[0-9a-f]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+-[0-9a-f]+$'
       AND digits ~ '^(0|[1-9][0-9]?[0-9]?)$' AND digits::integer < 256 THEN
        RETURN ROW(digits::smallint, right(execution_id, 36)::uuid)::ff_execution_ref;
    END IF;
    IF octet_length(execution_id) > 64 THEN
        why := 'is too long';
    ELSIF left(execution_id, 4) <> '{fp:' THEN
        why := 'must start with {fp:';
    ELSE
        rest := substr(execution_id, 5);
        close := strpos(rest, '}');
        IF close = 0 THEN
            why := 'has no closing brace';
        ELSE
            digits := left(rest, close - 1);
            IF NOT (CASE WHEN digits ~ '^(0|[1-9][0-9]{0,2})$' THEN digits::int < 256 ELSE false END) THEN
                why := 'has a partition that is not a decimal number below 256';
            ELSIF substr(rest, close + 1, 1) <> ':' THEN
                why := 'needs '':'' after the partition';
            ELSE
                uuid_text := substr(rest, close + 2);
                IF uuid_text !~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
                    why := 'has a uuid that is not lowercase hyphenated';
                END IF;
            END IF;
        END IF;
    END IF;
    IF why IS NOT NULL THEN
        PERFORM ff_invalid('invalid_execution_id', format('execution_id %s; expected {fp:N}:<uuid>', why));
    END IF;
    RETURN ROW(digits::smallint, uuid_text::uuid)::ff_execution_ref;
END
$$;
COMMENT ON FUNCTION ff_parse_execution_id(text) IS 'Parse {fp:N}:<uuid>, or WF001 invalid_execution_id (internal).';

-- A uuid as the Rust edition's parser accepts it (hyphenated, simple, braced, urn; any case), or NULL.
CREATE FUNCTION ff_parse_uuid_text(t text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN t ~ '^(urn:uuid:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{32})$'
                THEN regexp_replace(t, '^urn:uuid:', '')::uuid END
$$;
COMMENT ON FUNCTION ff_parse_uuid_text(text) IS 'Parse a uuid as the Rust edition does, or NULL (internal).';
