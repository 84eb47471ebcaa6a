"""Follow-up campaigns (issue 20): a worklist saved with its date, scope, entities and a note (the event it
was for), and, in the months after, which of its entities became covered.

The tables are user data the warehouse keeps beside the dashboard's accounts, in schema `access` (made by
whoever administers the warehouse, like the accounts: `ensure_tables`), never rebuilt by dbt:

- `access.campaign`: one row per saved worklist. Readers insert it as their own database role (the
  dashboard sets the user's role; the command line `--role`): `saved_role` must be `current_user`
  (a policy checks it), nobody may update or delete (no such grant), like `audit.link_decision`.
- `access.campaign_entity`: the entities of the worklist when it was saved, chosen by the same statement
  from the worklist marts as that role, so row-level security decides what a regional user can save.

Row-level security: analysts and auditors read and insert every campaign; a branch office (`cabang:KODE`)
those of its own branch, with entities of its service area; a regional role only those of
its provinces (`access.visible_provinces()`), for reading and inserting alike.

Conversion (`CONVERSION`) is a query, not a mart, so a campaign saved today shows at once: for each later
month the warehouse holds, an entity converted when it is covered in that month: a cooperative (a) when
it is covered (K1), an officer (b) when covered as an officer (K2), a KUR borrower (c) when an active
participant, a licence (d) when its cooperative is covered (the registration a valid recommendation
needs). Per campaign, section and branch.
"""
from __future__ import annotations

from datetime import date

import psycopg

from sinergi.warehouse import roles

from .worklist import Run, Scope

MAX_NOTE = 500

TABLES = """
create table if not exists access.campaign (
    campaign_id bigint generated always as identity primary key,
    campaign_date date not null,
    as_of date not null,
    scope_kind text not null check (scope_kind in ('cabang', 'wilayah')),
    scope_code text not null,
    province_code text,
    note text check (length(note) <= 500),
    saved_by text not null,
    saved_role text not null default current_user,
    saved_at timestamptz not null default now()
);
create table if not exists access.campaign_entity (
    campaign_id bigint not null references access.campaign (campaign_id),
    section text not null check (section in ('koperasi', 'pengurus', 'kur', 'perizinan')),
    entity text not null,
    nik_koperasi text,
    person_id text,
    regency_code text,
    province_code text,
    branch_code text,
    unique (campaign_id, section, entity, nik_koperasi)
);
create index if not exists campaign_entity_campaign on access.campaign_entity (campaign_id);
comment on table access.campaign is 'Worklists saved as follow-up campaigns (issue 20): append-only, as the saver''s role.';
alter table access.campaign enable row level security;
alter table access.campaign_entity enable row level security;
drop policy if exists nasional on access.campaign;
create policy nasional on access.campaign to sinergi_analyst, sinergi_auditor
    using (true) with check (saved_role = current_user);
drop policy if exists wilayah_baca on access.campaign;
create policy wilayah_baca on access.campaign for select to sinergi_regional
    using (province_code in (select access.visible_provinces()));
drop policy if exists wilayah_simpan on access.campaign;
create policy wilayah_simpan on access.campaign for insert to sinergi_regional
    with check (saved_role = current_user and province_code in (select access.visible_provinces()));
drop policy if exists nasional on access.campaign_entity;
create policy nasional on access.campaign_entity to sinergi_analyst, sinergi_auditor using (true) with check (true);
drop policy if exists wilayah_baca on access.campaign_entity;
create policy wilayah_baca on access.campaign_entity for select to sinergi_regional
    using (province_code in (select access.visible_provinces()));
drop policy if exists wilayah_simpan on access.campaign_entity;
create policy wilayah_simpan on access.campaign_entity for insert to sinergi_regional
    with check (province_code in (select access.visible_provinces()));
-- A branch office reads and saves the campaigns of its own branch, and their entities in its service area.
drop policy if exists cabang_baca on access.campaign;
create policy cabang_baca on access.campaign for select to sinergi_branch
    using (scope_kind = 'cabang' and scope_code in (select access.visible_branches()));
drop policy if exists cabang_simpan on access.campaign;
create policy cabang_simpan on access.campaign for insert to sinergi_branch
    with check (saved_role = current_user and scope_kind = 'cabang' and scope_code in (select access.visible_branches()));
drop policy if exists cabang_baca on access.campaign_entity;
create policy cabang_baca on access.campaign_entity for select to sinergi_branch
    using (regency_code in (select access.visible_regencies()));
drop policy if exists cabang_simpan on access.campaign_entity;
create policy cabang_simpan on access.campaign_entity for insert to sinergi_branch
    with check (regency_code in (select access.visible_regencies()));
-- Campaigns saved before tokens were shortened to 24 characters (issue 19) name people by the whole
-- digest: the first 24 characters are today's token (a no-op once done).
update access.campaign_entity
set person_id = left(person_id, 24),
    entity = regexp_replace(entity, '([0-9a-f]{24})[0-9a-f]{40}', '\1', 'g')
where length(person_id) = 64 or entity ~ '[0-9a-f]{64}';
grant usage on schema access to sinergi_analyst, sinergi_auditor, sinergi_regional, sinergi_branch;
grant select, insert on access.campaign, access.campaign_entity
    to sinergi_analyst, sinergi_auditor, sinergi_regional, sinergi_branch;
"""
NEEDED = ("access.campaign", "access.campaign_entity")


def ensure_tables(url: str) -> None:
    """Create the campaign tables, their policies and grants (idempotent; as administrator)."""
    roles.ensure(url)
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("select pg_advisory_xact_lock(hashtext('sinergi.campaign'))")
        conn.execute(TABLES)


def save_query(scope: Scope) -> str:
    """One statement: the campaign and its entities, chosen from the worklist marts as the saving role
    (parameters: tanggal, bulan, jenis, cakupan, provinsi, catatan, oleh)."""
    where = f"w.as_of = to_date(%(bulan)s, 'YYYY-MM') and {scope.where()}"
    return f"""
with c as (
    insert into access.campaign (campaign_date, as_of, scope_kind, scope_code, province_code, note, saved_by)
    values (%(tanggal)s, to_date(%(bulan)s, 'YYYY-MM'), %(jenis)s, %(cakupan)s, %(provinsi)s, %(catatan)s, %(oleh)s)
    returning campaign_id
), e as (
    insert into access.campaign_entity
        (campaign_id, section, entity, nik_koperasi, person_id, regency_code, province_code, branch_code)
    select c.campaign_id, x.* from c cross join (
        select 'koperasi', w.nik_koperasi, w.nik_koperasi, null::text, w.regency_code, w.province_code, w.branch_code
        from marts.fct_worklist_cooperatives as w where {where}
        union all
        select distinct 'pengurus', w.person_id, w.nik_koperasi, w.person_id, w.regency_code, w.province_code,
            w.branch_code
        from marts.fct_worklist_officers as w where {where} and w.cooperative_is_covered
        union all
        select 'kur', w.id_fasilitas, null, w.person_id, w.regency_code, w.province_code, w.branch_code
        from marts.fct_worklist_kur as w where {where}
        union all
        select 'perizinan', w.no_keputusan, w.nik_koperasi, null, w.regency_code, w.province_code, w.branch_code
        from marts.fct_worklist_licences as w where {where}
    ) as x
    returning section
)
select (select campaign_id from c) as campaign_id,
    (select count(*) from e) as entities,
    (select count(*) from e where section = 'koperasi') as koperasi,
    (select count(*) from e where section = 'pengurus') as pengurus,
    (select count(*) from e where section = 'kur') as kur,
    (select count(*) from e where section = 'perizinan') as perizinan
"""


def save(run: Run, scope: Scope, bulan: str, note: str | None, saved_by: str,
         campaign_date: date | None = None) -> dict:
    """Save a resolved scope's worklist of a month as a campaign; returns its id and entity counts."""
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        raise ValueError(f"Catatan terlalu panjang (maksimal {MAX_NOTE} karakter).")
    return run(save_query(scope), {
        "tanggal": campaign_date or date.today(), "bulan": bulan, "jenis": scope.kind, "cakupan": scope.code,
        "provinsi": scope.province, "catatan": note, "oleh": saved_by})[0]


LIST = """
select c.campaign_id, c.campaign_date, to_char(c.as_of, 'YYYY-MM') as bulan, c.scope_kind, c.scope_code,
    c.note, c.saved_by, c.saved_role, count(e.entity) as entities
from access.campaign as c
left join access.campaign_entity as e on e.campaign_id = c.campaign_id
group by c.campaign_id
order by c.campaign_id desc
limit %(limit)s
"""

# Each campaign's entities in each later month the warehouse holds: how many, and how many became covered.
# Set-based (joins, not a subquery per entity): the covered keys of the later months are read once each.
CONVERSION = """
with entities as (
    select e.*, c.as_of as campaign_month
    from access.campaign_entity as e join access.campaign as c on c.campaign_id = e.campaign_id
),
later as (
    select e.*, m.as_of from entities as e join marts.dim_month as m on m.as_of > e.campaign_month
),
cooperatives as (
    select distinct as_of, nik_koperasi from marts.fct_cooperative_coverage
    where is_covered and as_of > (select min(campaign_month) from entities)
),
officers as (
    select distinct as_of, person_id from marts.fct_officer_coverage
    where is_covered and as_of > (select min(campaign_month) from entities)
),
borrowers as (
    select distinct p.as_of, p.person_id from marts.fct_participation_monthly as p
    where p.is_active and p.as_of > (select min(campaign_month) from entities)
      and p.person_id in (select person_id from entities where section = 'kur')
),
checked as (
    select l.campaign_id, l.section, l.branch_code, l.as_of,
        case l.section
            when 'koperasi' then k.nik_koperasi is not null
            when 'perizinan' then k.nik_koperasi is not null
            when 'pengurus' then o.person_id is not null
            when 'kur' then b.person_id is not null
        end as converted
    from later as l
    left join cooperatives as k on l.section in ('koperasi', 'perizinan') and k.as_of = l.as_of
        and k.nik_koperasi = l.nik_koperasi
    left join officers as o on l.section = 'pengurus' and o.as_of = l.as_of and o.person_id = l.entity
    left join borrowers as b on l.section = 'kur' and b.as_of = l.as_of and b.person_id = l.person_id
)
select campaign_id, section, branch_code, to_char(as_of, 'YYYY-MM') as bulan, count(*) as entities,
    count(*) filter (where converted) as converted
from checked
group by campaign_id, section, branch_code, as_of
order by campaign_id, as_of, section, branch_code
"""


def conversion(run: Run, limit: int = 200) -> dict:
    """Campaigns (latest first) with their conversion in each later month, and per branch at the latest
    month each campaign has: {"campaigns": [...], "branches": [...]}."""
    campaigns = run(LIST, {"limit": limit})
    rows = run(CONVERSION, {})
    by_campaign: dict[int, dict] = {}
    for r in rows:
        months = by_campaign.setdefault(r["campaign_id"], {})
        entry = months.setdefault(r["bulan"], {"entities": 0, "converted": 0, "sections": {}})
        entry["entities"] += r["entities"]
        entry["converted"] += r["converted"]
        section = entry["sections"].setdefault(r["section"], {"entities": 0, "converted": 0})
        section["entities"] += r["entities"]
        section["converted"] += r["converted"]
    latest = {cid: max(months) for cid, months in by_campaign.items()}
    branches: dict[str, dict] = {}
    for r in rows:
        if latest.get(r["campaign_id"]) == r["bulan"]:
            b = branches.setdefault(r["branch_code"] or "–", {"branch_code": r["branch_code"] or "–",
                                                              "campaigns": set(), "entities": 0, "converted": 0})
            b["campaigns"].add(r["campaign_id"])
            b["entities"] += r["entities"]
            b["converted"] += r["converted"]
    for c in campaigns:
        months = by_campaign.get(c["campaign_id"], {})
        c["months"] = [{"bulan": m, **months[m]} for m in sorted(months)]
        c["latest"] = c["months"][-1] if c["months"] else None
    return {"campaigns": campaigns,
            "branches": [{**b, "campaigns": len(b["campaigns"])} for _, b in sorted(branches.items())]}
