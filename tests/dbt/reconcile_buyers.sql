-- Buyers in the marts equal distinct raw buyers.
select 'buyers' as check, b.n as mart, r.n as raw
from (select uniqExactMerge(buyers_state) as n from {{ ref('kpi_daily') }}) as b
cross join (select uniqExact(uid) as n from {{ ref('stg_orders') }}) as r
where b.n != r.n
union all
select 'cohort buyers', c.n, r.n
from (select sum(cohort_buyers) as n from {{ ref('ltv_monthly') }} where age_month = 0) as c
cross join (select uniqExact(uid) as n from {{ ref('stg_orders') }}) as r
where c.n != r.n
