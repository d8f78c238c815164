-- One row per load attempt (its latest version: the loader rewrites a load's row when it ends).
select
    load_id,
    kind,
    file_name,
    content_hash,
    started_at,
    finished_at,
    rows_read,
    rows_loaded,
    rows_quarantined,
    status,
    error
from {{ source('raw', 'load_log') }} final
