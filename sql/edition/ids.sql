-- ff_engine SQL edition: identifiers (docs/semantics.md §1), as core/src/ids.rs: lane ids, execution
-- ids `{fp:N}:<uuid>` and their CRC-16/XMODEM partitions.

-- lane_id: 1-64 bytes of printable ASCII (space included).
CREATE FUNCTION ff_check_lane_id(lane_id text) RETURNS void
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF lane_id !~ '^[\x20-\x7e]{1,64}$' THEN
        PERFORM ff_invalid('invalid_lane_id', 'lane_id must be 1-64 bytes of printable ASCII');
    END IF;
END
$$;
COMMENT ON FUNCTION ff_check_lane_id(text) IS 'WF001 invalid_lane_id unless a valid lane id (internal).';

-- CRC-16/XMODEM: poly 0x1021, init 0, no reflection, no final xor.
CREATE FUNCTION ff_crc16_xmodem(data bytea) RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    crc integer := 0;
BEGIN
    FOR i IN 0 .. length(data) - 1 LOOP
        crc := crc # (get_byte(data, i) << 8);
        FOR b IN 1 .. 8 LOOP
            crc := CASE WHEN crc & 32768 <> 0 THEN ((crc << 1) # 4129) & 65535 ELSE (crc << 1) & 65535 END;
        END LOOP;
    END LOOP;
    RETURN crc;
END
$$;
COMMENT ON FUNCTION ff_crc16_xmodem(bytea) IS 'CRC-16/XMODEM (internal).';

-- The partition of a new execution: by its flow's 16 raw bytes when it has one, else by its lane.
CREATE FUNCTION ff_partition_for(lane_id text, flow_id uuid) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (ff_crc16_xmodem(CASE WHEN flow_id IS NULL THEN convert_to(lane_id, 'UTF8') ELSE uuid_send(flow_id) END) % 256)::smallint
$$;
COMMENT ON FUNCTION ff_partition_for(text, uuid) IS 'Partition of a new execution (internal).';

-- Parse an execution id strictly, with the Rust edition's messages (WF001 invalid_execution_id).
CREATE FUNCTION ff_parse_execution_id(execution_id text, OUT partition_key smallint, OUT execution_uuid uuid)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    rest text;
    close integer;
    digits text;
    uuid_text text;
    why text;
BEGIN
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
    partition_key := digits::smallint;
    execution_uuid := uuid_text::uuid;
END
$$;
COMMENT ON FUNCTION ff_parse_execution_id(text) IS 'Parse {fp:N}:<uuid>, or WF001 invalid_execution_id (internal).';
