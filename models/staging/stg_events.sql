select
    uid,
    ts,
    event,
    sku,
    search_term,
    page,
    load_id
from {{ source('raw', 'events') }}
