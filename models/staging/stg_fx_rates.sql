-- Rates of the base currency itself are ignored: it always has rate 1 (contract section 5).
select
    date as rate_date,
    currency,
    rate,
    load_id
from {{ source('raw', 'fx_rates') }}
where currency != '{{ var("base_currency") }}'
