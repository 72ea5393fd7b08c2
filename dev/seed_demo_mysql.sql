-- Demo / test data for MariaDB / MySQL (database rivet_demo). Idempotent: drops and recreates.
-- Run: mariadb -h 127.0.0.1 -u root --default-character-set=utf8mb4 rivet_demo < dev/seed_demo_mysql.sql
-- (dev/seed_demo.sh runs it and skips it when the tables already hold the expected rows.)
-- Rows are generated server-side with MariaDB's Sequence engine (seq_1_to_N); INSERT ... SELECT only.
SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci;
SET SESSION time_zone = '+00:00';
SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION';
SET SESSION explicit_defaults_for_timestamp = ON;
SET SESSION unique_checks = 0;
SET SESSION foreign_key_checks = 0;

DROP TABLE IF EXISTS customers, orders, events, all_types;

-- customers: 10,000 rows ------------------------------------------------------------------------
CREATE TABLE customers (
    id         int           NOT NULL PRIMARY KEY,
    name       varchar(100)  NOT NULL,
    email      varchar(255)  NULL,                 -- NULL for every 97th customer
    country    char(2)       NOT NULL,
    created_at datetime      NOT NULL,
    balance    decimal(12,2) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO customers (id, name, email, country, created_at, balance)
SELECT seq,
       CONCAT('Customer ', seq),
       IF(seq % 97 = 0, NULL, CONCAT('customer', seq, '@example.com')),
       ELT(1 + seq % 8, 'US', 'DE', 'FR', 'JP', 'BR', 'IN', 'GB', 'CA'),
       TIMESTAMP'2023-01-01 00:00:00' + INTERVAL (seq * 37) MINUTE,
       ROUND(((seq * 7919) % 1000000) / 100.0 - 2500, 2)
FROM seq_1_to_10000;

-- orders: 100,000 rows, index on updated_at (incremental exports) -----------------------------
CREATE TABLE orders (
    id          bigint        NOT NULL PRIMARY KEY,
    customer_id int           NOT NULL,
    status      varchar(16)   NOT NULL,
    amount      decimal(12,2) NOT NULL,
    created_at  timestamp     NOT NULL,
    updated_at  timestamp     NOT NULL,
    KEY orders_updated_at_idx (updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO orders (id, customer_id, status, amount, created_at, updated_at)
SELECT seq,
       1 + (seq * 31) % 10000,
       ELT(1 + seq % 5, 'new', 'paid', 'shipped', 'cancelled', 'refunded'),
       ROUND(((seq * 104729) % 100000) / 100.0 + 1, 2),
       TIMESTAMP'2024-01-01 00:00:00' + INTERVAL (seq * 5) MINUTE,
       TIMESTAMP'2024-01-01 00:00:00' + INTERVAL (seq * 5 + seq % 1000) MINUTE
FROM seq_1_to_100000;

-- events: 1,000,000 rows, created_at one second apart from 2024-01-01 -------------------------
CREATE TABLE events (
    id         bigint       NOT NULL PRIMARY KEY,
    user_id    int          NOT NULL,
    kind       smallint     NOT NULL,
    flag       bool         NOT NULL,
    label      varchar(32)  NOT NULL,
    created_at timestamp(6) NOT NULL,
    payload    json         NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
INSERT INTO events (id, user_id, kind, flag, label, created_at, payload)
SELECT seq,
       (seq * 7) % 50000,
       seq % 10,
       seq % 3 = 0,
       CONCAT('label-', seq % 1000),
       TIMESTAMP'2024-01-01 00:00:00' + INTERVAL (seq - 1) SECOND,
       JSON_OBJECT('n', seq, 'tag', CONCAT('t', seq % 7), 'ok', seq % 2 = 0)
FROM seq_1_to_1000000;

-- all_types: every supported MariaDB type, with NULLs and extremes ----------------------------
CREATE TABLE all_types (
    id             int NOT NULL PRIMARY KEY,
    note           varchar(100),
    c_bool         tinyint(1),
    c_tinyint      tinyint,
    c_tinyint_u    tinyint unsigned,
    c_smallint     smallint,
    c_smallint_u   smallint unsigned,
    c_mediumint    mediumint,
    c_mediumint_u  mediumint unsigned,
    c_int          int,
    c_int_u        int unsigned,
    c_bigint       bigint,
    c_bigint_u     bigint unsigned,
    c_decimal      decimal(38,10),
    c_decimal_wide decimal(65,30),
    c_float        float,
    c_double       double,
    c_date         date,
    c_datetime     datetime(6),
    c_timestamp    timestamp(6) NULL DEFAULT NULL,
    c_time         time(6),
    c_char         char(5),
    c_varchar      varchar(20),
    c_text         text,
    c_binary       binary(4),
    c_varbinary    varbinary(16),
    c_blob         blob,
    c_json         json,
    c_enum         enum('sad','ok','happy'),
    c_set          set('a','b','c'),
    c_bit1         bit(1),
    c_bit10        bit(10),
    c_year         year
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

INSERT INTO all_types VALUES
 (1, 'typical',
  1, 12, 200, 1234, 60000, 123456, 16000000, 123456, 3000000000, 1234567890123, 12345678901234567890,
  12345.6789, 123456789012345678901234567890.123456789012345678901234567890,
  1.5, 2.25,
  '2024-02-29', '2024-02-29 12:34:56.789012', '2024-02-29 12:34:56.789012', '12:34:56.789012',
  'abc', 'varchar', 'hello', 0x01020304, 0x0102030405, 0x0102030405,
  '{"a": 1, "b": [true, null, "x"]}', 'happy', 'a,c', b'1', b'1010101010', 2024),
 (2, 'all NULL',
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
 (3, 'minimums, empty strings, 1900-01-01',
  0, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
  -9999999999999999999999999999.9999999999,
  -99999999999999999999999999999999999.999999999999999999999999999999,
  -3.40282e38, -1.7976931348623157e308,
  '1000-01-01', '1900-01-01 00:00:00.000000', '1970-01-01 00:00:01.000000', '-838:59:59.000000',
  '', '', '', 0x00000000, X'', X'',
  '{}', 'sad', '', b'0', b'0000000000', 1901),
 (4, 'maximums, 9999-12-31 23:59:59.999999, unicode',
  1, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
  9223372036854775807, 18446744073709551615,
  9999999999999999999999999999.9999999999,
  99999999999999999999999999999999999.999999999999999999999999999999,
  3.40282e38, 1.7976931348623157e308,
  '9999-12-31', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '838:59:59.000000',
  '日本語ab', '😀日本語ab𝄞ç',
  'emoji 😀🎉 CJK 日本語 中文 한국어, accents é ü, tab\t newline\n quote '' backslash \\',
  0xFFFFFFFF, 0x00FF00FE00, 0x00FF00FE00,
  '{"emoji": "😀", "cjk": "日本語", "nested": {"deep": [1, 2.5, -3e10]}}',
  'ok', 'a,b,c', b'1', b'1111111111', 2155),
 (5, 'negative zero, zero bytes, leading/trailing spaces, fractional microseconds',
  NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, 0, NULL, -0.0, -0.0, -0.0, -0.0,
  '1970-01-01', '1970-01-01 00:00:00.000001', '1999-12-31 23:59:59.999999', '00:00:00.000001',
  ' a ', ' leading/trailing ', ' leading and trailing spaces ', 0x00000001, 0x00, 0x000000,
  'null', NULL, 'b', NULL, b'1000000000', 0),
 (6, 'smallest decimal steps, unsigned boundaries',
  1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 9223372036854775808,
  0.0000000001, 0.000000000000000000000000000001,
  1.17549e-38, 2.2250738585072014e-308,
  '2000-01-01', '2000-01-01 00:00:00.000000', '2000-01-01 00:00:00.000000', '-00:00:00.000001',
  'x', 'y', 'NULL', 0x4E554C4C, 0x4E554C4C, 0x4E554C4C,
  '[1, "two", null, {"three": 3}]', 'happy', 'c', b'0', b'0000000001', 1970);

-- zero date / zero datetime: only insertable with a permissive sql_mode
SET SESSION sql_mode = '';
INSERT INTO all_types (id, note, c_date, c_datetime, c_timestamp, c_year)
VALUES (7, 'zero date 0000-00-00 and zero datetime', '0000-00-00', '0000-00-00 00:00:00.000000',
        '0000-00-00 00:00:00.000000', 0000);
SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION';

ANALYZE TABLE customers, orders, events, all_types;
