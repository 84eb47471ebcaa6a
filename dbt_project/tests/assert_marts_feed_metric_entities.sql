-- Each metric's total lists exactly the entities of its mart, month by month: K2 the distinct persons
-- of fct_officer_coverage, K3 the decisions of fct_licensing_compliance, K4 the mandatory facilities and
-- K5 all facilities of fct_kur_coverage, K6 the businesses of fct_umkm_coverage, K7 the participants and
-- K8 the BPU participants of fct_contribution_compliance, K9 the claims of fct_claims_paid
-- (K1: assert_cooperative_coverage_in_k1_entities).
with mart_entities as (
    select as_of, 'K2' as metric, person_id as entity from {{ ref('fct_officer_coverage') }}
    union
    select as_of, 'K3', no_keputusan from {{ ref('fct_licensing_compliance') }}
    union
    select as_of, 'K4', id_fasilitas from {{ ref('fct_kur_coverage') }} where is_mandatory
    union
    select as_of, 'K5', id_fasilitas from {{ ref('fct_kur_coverage') }}
    union
    select as_of, 'K6', nib from {{ ref('fct_umkm_coverage') }}
    union
    select as_of, 'K7', kpj from {{ ref('fct_contribution_compliance') }}
    union
    select as_of, 'K8', kpj from {{ ref('fct_contribution_compliance') }} where segmen = 'BPU'
    union
    select as_of, 'K9', no_klaim from {{ ref('fct_claims_paid') }}
),

metric_entities as (
    select distinct as_of, metric, entity
    from {{ ref('fct_metric_entities') }}
    where dimension = '' and metric in ('K2', 'K3', 'K4', 'K5', 'K6', 'K7', 'K8', 'K9')
)

select
    coalesce(m.as_of, e.as_of) as as_of,
    coalesce(m.metric, e.metric) as metric,
    coalesce(m.entity, e.entity) as entity,
    m.entity is not null as in_mart,
    e.entity is not null as in_metric_entities
from mart_entities as m
full join metric_entities as e on e.as_of = m.as_of and e.metric = m.metric and e.entity = m.entity
where m.entity is null or e.entity is null
