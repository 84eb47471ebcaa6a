{#- Post-hook of every model in `marts`: analysts and auditors read every row; the regional roles
    (sinergi_regional) only rows of the provinces `access.visible_provinces()` gives them. The row's
    province is read from the first column found of province_code, regency_code, region_code, region
    (codes `PP` or `PP.KK`; the nation `ID` matches no province), or for contributions and claims from
    the branch office (dim_branch). The ledger marts (fct_deliveries, fct_quarantine_reasons,
    fct_expectation_results) carry `sender_region`: the province of the BPJS branch that sent the file, or
    `ID` for the national senders (ministry, banks), whose rows every role sees. A mart with none of these
    holds no regional rows (banks, months). A mart with `meta: {auditors_only: true}` (the linkage review
    queue: candidate links and conflicts, as the auditor-only `identity` schema holds them) gives rows to
    sinergi_auditor only.

    The branch-office roles (sinergi_branch) get a policy of their own (`cabang`) on every mart with
    row-level security: rows of the regencies/cities of their service area (`access.visible_regencies()`,
    from dim_branch_area) by the first of regency_code, region_code, region, so never a province's or the
    nation's total, which counts other branches' areas too; rows of their own branch by branch_code
    (contributions, claims, and dim_branch / dim_branch_area themselves); of the ledger, their own files and
    the national senders'; and nothing of a mart whose rows are province-level only (province_code alone). -#}
{% macro province_row_security() %}
    {%- if not execute or this.schema != 'marts' or config.get('materialized') == 'view' -%}
        select 1
    {%- else -%}
        {%- set names = adapter.get_columns_in_relation(this) | map(attribute='name') | list -%}
        {%- set column = (['province_code', 'regency_code', 'region_code', 'region'] | select('in', names) | list | first) -%}
        {%- if column -%}
            {%- set rule = 'left(' ~ column ~ ', 2) in (select access.visible_provinces())' -%}
        {%- elif 'sender_region' in names -%}
            {%- set rule = "sender_region = 'ID' or sender_region in (select access.visible_provinces())" -%}
        {%- elif 'branch_code' in names -%}
            {%- set rule = "branch_code in (select b.branch_code from " ~ ref('dim_branch')
                ~ " as b where b.province_code in (select access.visible_provinces()))" -%}
        {%- endif -%}
        {%- set branch_rule = branch_row_rule(names) -%}
        {%- set auditors_only = (config.get('meta') or {}).get('auditors_only', false) -%}
        {%- if rule is defined or auditors_only -%}
            alter table {{ this }} enable row level security;
            drop policy if exists nasional on {{ this }};
            create policy nasional on {{ this }} for select to
                {{ 'sinergi_auditor' if auditors_only else 'sinergi_analyst, sinergi_auditor' }} using (true);
            drop policy if exists wilayah on {{ this }};
            drop policy if exists cabang on {{ this }}
            {%- if not auditors_only -%};
            create policy wilayah on {{ this }} for select to sinergi_regional using ({{ rule }});
            create policy cabang on {{ this }} for select to sinergi_branch using ({{ branch_rule }})
            {%- endif -%}
        {%- else -%}
            select 1
        {%- endif -%}
    {%- endif -%}
{% endmacro %}

{#- The branch-office rule for a mart with these columns (see above). dim_branch and dim_branch_area go by
    their branch: the service area is read from dim_branch_area itself, under this very rule. -#}
{% macro branch_row_rule(names) %}
    {%- set regional = (['regency_code', 'region_code', 'region'] | select('in', names) | list | first) -%}
    {%- if this.name in ('dim_branch', 'dim_branch_area') -%}
        branch_code in (select access.visible_branches())
    {%- elif regional -%}
        {{ regional }} in (select access.visible_regencies())
    {%- elif 'sender_region' in names -%}
        sender_region = 'ID' or (sender = 'bpjstk' and unit in (select access.visible_branches()))
    {%- elif 'branch_code' in names -%}
        branch_code in (select access.visible_branches())
    {%- else -%}
        false
    {%- endif -%}
{% endmacro %}
