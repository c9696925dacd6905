-- Catalog and order service schema (MariaDB >= 10.6, MySQL >= 8.0).
--
-- Loaded once into an empty database by `scripts/stack up` and the test
-- fixture.  Every table is InnoDB/utf8mb4.  The indexes exist for the
-- queries in common/ and app/; each is named after the query it serves.
--
-- Deletion rule: products are deleted for real; order_items keep a copy of
-- the sku, name and unit price at order time and carry no foreign key to
-- products, so deleting a product never touches the orders that bought it.

CREATE TABLE IF NOT EXISTS categories (
  id          INT UNSIGNED NOT NULL AUTO_INCREMENT,
  slug        VARCHAR(64)  NOT NULL,
  name        VARCHAR(128) NOT NULL,
  created_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY categories_slug (slug)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS products (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  sku          VARCHAR(64)  NOT NULL,
  name         VARCHAR(200) NOT NULL,
  category_id  INT UNSIGNED NOT NULL,
  price_cents  BIGINT       NOT NULL,
  stock        INT          NOT NULL,
  created_at   DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at   DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
                            ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY products_sku (sku),
  -- list pages: WHERE category_id = ? ORDER BY <sort>, id LIMIT ?, ?
  KEY products_category_id (category_id, id),
  KEY products_category_price (category_id, price_cents, id),
  KEY products_category_name (category_id, name, id),
  -- unfiltered list pages
  KEY products_price (price_cents, id),
  KEY products_name (name, id),
  CONSTRAINT products_category_fk FOREIGN KEY (category_id)
    REFERENCES categories (id),
  CONSTRAINT products_price_nonneg CHECK (price_cents >= 0),
  CONSTRAINT products_stock_nonneg CHECK (stock >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS orders (
  id            BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  email         VARCHAR(254) NOT NULL,
  status        VARCHAR(16)  NOT NULL DEFAULT 'created',
  total_cents   BIGINT       NOT NULL,
  -- set by the runner in the transaction that marks the confirmation job
  -- done; the status check that makes a retried job send nothing twice
  confirmation_sent_at DATETIME(6) NULL,
  created_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS order_items (
  order_id          BIGINT UNSIGNED NOT NULL,
  product_id        BIGINT UNSIGNED NOT NULL,
  sku               VARCHAR(64)  NOT NULL,
  name              VARCHAR(200) NOT NULL,
  quantity          INT          NOT NULL,
  unit_price_cents  BIGINT       NOT NULL,
  PRIMARY KEY (order_id, product_id),
  CONSTRAINT order_items_order_fk FOREIGN KEY (order_id)
    REFERENCES orders (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Idempotency-Key records for POST /api/orders.  A row is inserted (state
-- 'in_progress') in its own short transaction before the order work starts,
-- so a concurrent duplicate collides on the primary key; the finished
-- response is stored byte for byte and replayed.  Rows expire after 24 h.
-- owner_token fences the row like a job's lease_token: only the request
-- holding the current token may record the answer or release the key, so
-- a request that lost its link (and its named lock) and a client retry
-- that took the key over can never both commit an order.
CREATE TABLE IF NOT EXISTS idempotency_keys (
  idem_key         VARBINARY(255) NOT NULL,
  request_hash     BINARY(32)     NOT NULL,
  state            VARCHAR(16)    NOT NULL DEFAULT 'in_progress',
  response_status  SMALLINT       NULL,
  response_body    MEDIUMTEXT     NULL,
  order_id         BIGINT UNSIGNED NULL,
  owner_token      BIGINT UNSIGNED NOT NULL DEFAULT 0,
  created_at       DATETIME(6)    NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  expires_at       DATETIME(6)    NOT NULL,
  PRIMARY KEY (idem_key),
  KEY idempotency_keys_expires (expires_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The transactional outbox.  State machine (core/jobs.h):
--   pending -> running (claim, attempts += 1, fresh lease_token)
--   running -> done | pending (retry, run_at = now + backoff) | dead
--   running -> running (lease expired, claimed again by another runner)
--   dead    -> pending (replay)
CREATE TABLE IF NOT EXISTS jobs (
  id               BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  type             VARCHAR(64)   NOT NULL,
  payload          MEDIUMTEXT    NOT NULL,
  idempotency_key  VARCHAR(191)  NOT NULL,
  status           ENUM('pending','running','done','dead') NOT NULL DEFAULT 'pending',
  attempts         INT UNSIGNED  NOT NULL DEFAULT 0,
  max_attempts     INT UNSIGNED  NOT NULL DEFAULT 5,
  run_at           DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  locked_by        VARCHAR(128)  NULL,
  locked_until     DATETIME(6)   NULL,
  lease_token      BIGINT UNSIGNED NULL,
  last_error       TEXT          NULL,
  created_at       DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  updated_at       DATETIME(6)   NOT NULL DEFAULT CURRENT_TIMESTAMP(6)
                                 ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY jobs_idempotency_key (idempotency_key),
  -- claim of due pending jobs: WHERE status='pending' AND run_at <= ?
  KEY jobs_claim (status, run_at, id),
  -- reclaim of expired leases: WHERE status='running' AND locked_until <= ?
  KEY jobs_lease (status, locked_until, id),
  -- prune: WHERE status='done' AND updated_at < ?
  KEY jobs_prune (status, updated_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS dead_letter_jobs (
  id           BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  job_id       BIGINT UNSIGNED NOT NULL,
  type         VARCHAR(64)  NOT NULL,
  payload      MEDIUMTEXT   NOT NULL,
  attempts     INT UNSIGNED NOT NULL,
  last_error   TEXT         NULL,
  failed_at    DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  replayed_at  DATETIME(6)  NULL,
  PRIMARY KEY (id),
  KEY dead_letter_jobs_job (job_id),
  KEY dead_letter_jobs_open (replayed_at, failed_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The cache's invalidation log (common/cache.h, THE LOG).  Every write
-- inserts one row, the namespaces it touched separated by spaces, as the
-- last statement of its own transaction; each app host's poller applies
-- the rows it has not yet applied (by id: ids commit out of order, so it
-- asks again for ids missing below the highest it saw) and prunes rows
-- older than cache.ttl_seconds + its grace + a minute.
CREATE TABLE IF NOT EXISTS cache_invalidations (
  id          BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  namespaces  TEXT         NOT NULL,
  created_at  DATETIME(6)  NOT NULL DEFAULT CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  -- prune: WHERE created_at < ?
  KEY cache_invalidations_created (created_at)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;

-- One row per app host (host name and app.listen): where its poller is in
-- the log (a restarted host resumes there) and the hash of its canonical
-- cache.servers list, so a host whose list differs from its live peers'
-- (updated in the last 10 s) is visible in /healthz and /metrics.
CREATE TABLE IF NOT EXISTS cache_hosts (
  host          VARCHAR(255)    NOT NULL,
  servers_hash  CHAR(16)        NOT NULL,
  servers       VARCHAR(2048)   NOT NULL,
  applied_id    BIGINT UNSIGNED NOT NULL,
  updated_at    DATETIME(6)     NOT NULL,
  PRIMARY KEY (host)
) ENGINE=InnoDB DEFAULT CHARSET=ascii COLLATE=ascii_bin;
