select
    refund_id,
    order_id,
    refund_ts,
    amount,
    reason,
    load_id
from {{ source('raw', 'refunds') }}
