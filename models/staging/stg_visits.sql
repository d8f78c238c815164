select
    uid,
    device,
    start_ts,
    end_ts,
    source_id,
    if(os = '', 'unknown', os) as os,
    if(country = '', 'unknown', country) as country,
    if(region = '', 'unknown', region) as region,
    if(city = '', 'unknown', city) as city,
    campaign,
    load_id
from {{ source('raw', 'visits') }}
