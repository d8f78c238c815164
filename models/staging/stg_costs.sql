select
    source_id,
    dt,
    costs,
    load_id
from {{ source('raw', 'costs') }}
