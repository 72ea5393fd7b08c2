-- Demo / test data for PostgreSQL (database rivet_demo). Idempotent: drops and recreates.
-- Run: psql -h 127.0.0.1 -U postgres -d rivet_demo -v ON_ERROR_STOP=1 -f dev/seed_demo_pg.sql
-- (dev/seed_demo.sh runs it and skips it when the tables already hold the expected rows.)
-- Everything is generated server-side with generate_series, in one transaction.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET synchronous_commit = off;
SET TIME ZONE 'UTC';

BEGIN;

DROP TABLE IF EXISTS customers, orders, events, all_types CASCADE;
DROP TYPE IF EXISTS mood;

-- customers: 10,000 rows ------------------------------------------------------------------------
CREATE TABLE customers (
    id         integer       PRIMARY KEY,
    name       text          NOT NULL,
    email      varchar(255),                       -- NULL for every 97th customer
    country    char(2)       NOT NULL,
    created_at timestamp     NOT NULL,
    balance    numeric(12,2) NOT NULL
);
INSERT INTO customers (id, name, email, country, created_at, balance)
SELECT g,
       'Customer ' || g,
       CASE WHEN g % 97 = 0 THEN NULL ELSE 'customer' || g || '@example.com' END,
       (ARRAY['US','DE','FR','JP','BR','IN','GB','CA'])[1 + g % 8],
       timestamp '2023-01-01 00:00:00' + g * interval '37 minutes',
       round(((g * 7919) % 1000000) / 100.0 - 2500, 2)
FROM generate_series(1, 10000) AS g;

-- orders: 100,000 rows, index on updated_at (incremental exports) -----------------------------
CREATE TABLE orders (
    id          bigint        PRIMARY KEY,
    customer_id integer       NOT NULL,
    status      varchar(16)   NOT NULL,
    amount      numeric(12,2) NOT NULL,
    created_at  timestamp     NOT NULL,
    updated_at  timestamp     NOT NULL
);
INSERT INTO orders (id, customer_id, status, amount, created_at, updated_at)
SELECT g,
       1 + (g * 31) % 10000,
       (ARRAY['new','paid','shipped','cancelled','refunded'])[1 + g % 5],
       round(((g::bigint * 104729) % 100000) / 100.0 + 1, 2),
       timestamp '2024-01-01 00:00:00' + g * interval '5 minutes',
       timestamp '2024-01-01 00:00:00' + g * interval '5 minutes' + (g % 1000) * interval '1 minute'
FROM generate_series(1, 100000) AS g;
CREATE INDEX orders_updated_at_idx ON orders (updated_at);

-- events: 1,000,000 rows, created_at one second apart from 2024-01-01 -------------------------
-- (primary key added after the load: faster than maintaining the index row by row)
CREATE TABLE events (
    id         bigint       NOT NULL,
    user_id    integer      NOT NULL,
    kind       smallint     NOT NULL,
    flag       boolean      NOT NULL,
    label      varchar(32)  NOT NULL,
    created_at timestamp(6) NOT NULL,
    payload    jsonb        NOT NULL
);
INSERT INTO events (id, user_id, kind, flag, label, created_at, payload)
SELECT g,
       (g * 7) % 50000,
       (g % 10)::smallint,
       g % 3 = 0,
       'label-' || (g % 1000),
       timestamp '2024-01-01 00:00:00' + (g - 1) * interval '1 second',
       jsonb_build_object('n', g, 'tag', 't' || (g % 7), 'ok', g % 2 = 0)
FROM generate_series(1, 1000000) AS g;
ALTER TABLE events ADD PRIMARY KEY (id);

-- all_types: every supported PostgreSQL type, with NULLs and extremes --------------------------
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE all_types (
    id             integer PRIMARY KEY,
    note           text,            -- what the row is about
    c_bool         boolean,
    c_int2         int2,
    c_int4         int4,
    c_int8         int8,
    c_float4       float4,
    c_float8       float8,
    c_numeric      numeric(38,10),
    c_numeric_wide numeric(50,20),
    c_date         date,
    c_time         time,
    c_timestamp    timestamp,
    c_timestamptz  timestamptz,
    c_text         text,
    c_varchar      varchar(20),
    c_char         char(5),
    c_bytea        bytea,
    c_json         json,
    c_jsonb        jsonb,
    c_uuid         uuid,
    c_int4_array   int4[],
    c_text_array   text[],
    c_mood         mood,
    c_interval     interval
);
INSERT INTO all_types VALUES
 (1, 'typical',
  true, 12, 123456, 1234567890123, 1.5, 2.25,
  '12345.6789000000', '123456789012345678901234567890.12345678901234567890',
  '2024-02-29', '12:34:56.789012', '2024-02-29 12:34:56.789012', '2024-02-29 12:34:56.789012+02',
  'hello', 'varchar', 'abc', '\x0102030405'::bytea,
  '{"a": 1, "b": [true, null, "x"]}', '{"a": 1, "b": [true, null, "x"]}',
  'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{1,2,3}', '{"a","b c","d,e"}', 'happy',
  '1 year 2 mons 3 days 04:05:06.789012'),
 (2, 'all NULL',
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (3, 'minimums, empty strings, 1900-01-01',
  false, -32768, -2147483648, -9223372036854775808, -3.4028235e38, -1.7976931348623157e308,
  '-9999999999999999999999999999.9999999999', '-999999999999999999999999999999.99999999999999999999',
  '1900-01-01', '00:00:00', '1900-01-01 00:00:00', '1900-01-01 00:00:00+00',
  '', '', '', '\x'::bytea,
  '{}', '[]',
  '00000000-0000-0000-0000-000000000000', '{}', '{}', 'sad',
  '-178000000 years'),
 (4, 'maximums, 9999-12-31 23:59:59.999999, unicode',
  true, 32767, 2147483647, 9223372036854775807, 3.4028235e38, 1.7976931348623157e308,
  '9999999999999999999999999999.9999999999', '999999999999999999999999999999.99999999999999999999',
  '9999-12-31', '23:59:59.999999', '9999-12-31 23:59:59.999999', '9999-12-31 23:59:59.999999+00',
  E'emoji 😀🎉 CJK 日本語 中文 한국어, accents é ü, tab\t newline\n quote '' backslash \\',
  '😀日本語ab𝄞ç', '日本', '\x00ff00fe00'::bytea,
  '{"emoji": "😀", "cjk": "日本語", "nested": {"deep": [1, 2.5, -3e10]}}',
  '{"emoji": "😀", "cjk": "日本語", "big": 12345678901234567890}',
  'ffffffff-ffff-ffff-ffff-ffffffffffff', '{-2147483648,NULL,2147483647}', '{"日本",NULL,"","😀"}', 'ok',
  '178000000 years'),
 (5, 'special floats, negative zero, NULL array elements, tiny fractions',
  NULL, 0, 0, 0, '-0', '-0', '-0.0', '-0.0',
  '1970-01-01', '00:00:00.000001', '1970-01-01 00:00:00.000001', '1969-12-31 23:59:59.999999+00',
  ' leading and trailing spaces ', 'x', 'a', '\x00'::bytea,
  'null', 'null',
  '123e4567-e89b-12d3-a456-426614174000', '{NULL}', '{NULL}', NULL,
  '-3 days 04:00:00'),
 (6, 'NaN and infinities in floats, smallest numeric steps',
  true, -1, -1, -1, 'NaN', 'Infinity', '0.0000000001', '0.00000000000000000001',
  '2000-01-01', '12:00:00', '2000-01-01 00:00:00', '2000-01-01 00:00:00-08',
  'x', 'y', 'z', '\x000000'::bytea,
  '"just a string"', '[1, "two", null, {"three": 3}]',
  '550e8400-e29b-41d4-a716-446655440000', '{0}', '{"only"}', 'happy',
  '0'),
 (7, 'negative infinity',
  false, 1, 1, 1, '-Infinity', '-Infinity', '-0.0000000001', '-0.00000000000000000001',
  '2038-01-19', '03:14:07', '2038-01-19 03:14:07', '2038-01-19 03:14:08+00',
  'NULL', 'null', 'NULL', '\x4e554c4c'::bytea,
  '[]', '{}',
  'f47ac10b-58cc-4372-a567-0e02b2c3d479', '{1}', '{"NULL"}', 'sad',
  '1 microsecond');

ANALYZE customers;
ANALYZE orders;
ANALYZE events;
ANALYZE all_types;

COMMIT;
