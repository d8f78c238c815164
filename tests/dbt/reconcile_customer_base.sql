-- The Customer base summary adds up to the customer base it summarises.
select s.n as summary, c.n as customers
from (select sum(contacts) as n from {{ ref('customer_base_summary') }}) as s
cross join (select count() as n from {{ ref('customer_profiles') }}) as c
where s.n != c.n
