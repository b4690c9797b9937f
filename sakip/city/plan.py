"""The plan of a scripted city: which dinas, Bidang and people exist, what each Bidang owes and
what becomes of each document, which SOP steps a dinas lets run late, and what the kepala_dinas
does with the first report. Drawn from one seed, so a run can be repeated and its outcome
checked against the plan (`sakip.city.check`) after `sakip.city.drive` played it through the
services' HTTP APIs.

The fates are those of `sakip.seeding.Fate`, played under the seed SOP (which refuses a hand-in
after the deadline in force): a late Bidang hands in after step 5's own deadline under an
extension the kepala_dinas granted with a reason (`extension_reason`); a MISSING Bidang never
hands in, so its dinas's collection is closed by the kasubbag_program after the deadline.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from sakip.seeding import Fate

DOCUMENT_TYPES = ("IKU", "RENSTRA", "SK_REVIEW_RENSTRA", "IKI", "SK_IKI", "RENJA", "PK",
                  "PENGUKURAN_KINERJA", "LAPORAN_KINERJA", "LKJIP")
XLSX_TYPES = frozenset({"IKU", "IKI", "PENGUKURAN_KINERJA"})  # tables; the rest are PDFs
MIN_FILE_BYTES = 50 * 1024
MAX_FILE_BYTES = 5 * 1024 * 1024
LATE_STEPS = (1, 2, 3, 4)  # steps a dinas may let run past their deadline (5 and 6 follow fates)
CITY_PASSWORD = "kota-sakip-demo-2026"  # noqa: S105 - every scripted person's password (demo only)

_DINAS_NAMES = (
    "Pendidikan dan Kebudayaan", "Kesehatan", "Pekerjaan Umum dan Penataan Ruang",
    "Perumahan dan Kawasan Permukiman", "Sosial", "Tenaga Kerja", "Lingkungan Hidup",
    "Kependudukan dan Pencatatan Sipil", "Pemberdayaan Masyarakat", "Perhubungan",
    "Komunikasi dan Informatika", "Koperasi dan Usaha Mikro", "Penanaman Modal dan PTSP",
    "Kepemudaan dan Olahraga", "Kebudayaan dan Pariwisata", "Perpustakaan dan Kearsipan",
    "Ketahanan Pangan dan Pertanian", "Perikanan", "Perdagangan dan Perindustrian",
    "Pengendalian Penduduk dan KB", "Pemberdayaan Perempuan dan Perlindungan Anak",
    "Satuan Polisi Pamong Praja", "Pemadam Kebakaran", "Badan Perencanaan Pembangunan Daerah",
    "Badan Keuangan Daerah", "Badan Kepegawaian Daerah", "Badan Kesatuan Bangsa dan Politik",
    "Badan Penanggulangan Bencana Daerah", "Badan Pendapatan Daerah", "Inspektorat Daerah",
)
_BIDANG_NAMES = (
    "Sekretariat", "Perencanaan", "Pelayanan", "Pengawasan", "Pembinaan", "Pengembangan",
    "Data dan Informasi", "Sarana dan Prasarana", "Pemberdayaan", "Pengendalian",
)


@dataclass(frozen=True)
class DocumentPlan:
    document_type: str
    fate: Fate
    kind: str  # "pdf" or "xlsx"
    size_bytes: int


@dataclass(frozen=True)
class CityBidang:
    name: str
    staff_username: str
    documents: tuple[DocumentPlan, ...]
    extension_reason: str | None = None  # hands in after step 5's deadline, under an extension

    @property
    def missing(self) -> bool:
        return any(d.fate is Fate.MISSING for d in self.documents)


@dataclass(frozen=True)
class DinasPlan:
    slug: str
    name: str
    bidang: tuple[CityBidang, ...]
    late_steps: frozenset[int]  # steps of 1-4 done only after their deadline: escalated once
    report_returned_first: bool  # the kepala_dinas returns the first report, then approves

    def username(self, role: str) -> str:
        """The dinas's one holder of a tenant role other than bidang_staff."""
        return f"{self.slug}.{role.replace('_', '-')}"

    @property
    def complete_by_itself(self) -> bool:
        """Every document ends accepted: step 5 completes on the last acceptance; otherwise
        the kasubbag_program closes the collection after the deadline in force."""
        return all(d.fate in (Fate.ON_TIME, Fate.RESUBMITTED)
                   for b in self.bidang for d in b.documents)


@dataclass(frozen=True)
class CityPlan:
    seed: int
    year: int
    dinas: tuple[DinasPlan, ...]
    password: str = CITY_PASSWORD
    bagian_organisasi: str = "kota.bagian-organisasi"
    inspektur: str = "kota.inspektur"
    platform_admin: str = "kota.admin"

    def bidang(self) -> Iterator[tuple[DinasPlan, CityBidang]]:
        for dinas in self.dinas:
            for bidang in dinas.bidang:
                yield dinas, bidang

    def documents(self) -> Iterator[tuple[DinasPlan, CityBidang, DocumentPlan]]:
        for dinas, bidang in self.bidang():
            for document in bidang.documents:
                yield dinas, bidang, document


def plan_city(*, dinas: int = 30, seed: int = 2026, year: int = 2026,
              bidang_per_dinas: tuple[int, int] = (6, 10),
              max_file_bytes: int = MAX_FILE_BYTES) -> CityPlan:
    """A city of `dinas` dinas with 6-10 Bidang each, drawn from `seed`. Per Bidang: 3-5
    document types; about 70 % hand everything in on time, 10 % have one document returned and
    replaced, 8 % hand in late under an extension, 6 % leave one document returned and never
    replaced, 6 % never hand in. File sizes are log-uniform between 50 KB and `max_file_bytes`.
    """
    if not 1 <= dinas <= len(_DINAS_NAMES):
        raise ValueError(f"a city has 1 to {len(_DINAS_NAMES)} dinas")
    low, high = bidang_per_dinas
    if not 1 <= low <= high <= len(_BIDANG_NAMES):
        raise ValueError(f"a dinas has 1 to {len(_BIDANG_NAMES)} Bidang, the lower bound first")
    rng = random.Random(seed)  # noqa: S311 - a repeatable plan, not a secret
    return CityPlan(seed=seed, year=year, dinas=tuple(
        _dinas(rng, number, bidang_per_dinas, max_file_bytes) for number in range(dinas)))


def _dinas(rng: random.Random, number: int, bidang_range: tuple[int, int],
           max_file_bytes: int) -> DinasPlan:
    slug = f"dinas-{number + 1:02d}"
    count = rng.randint(*bidang_range)
    names = rng.sample(_BIDANG_NAMES, count)
    bidang = tuple(_bidang(rng, slug, index, name, max_file_bytes)
                   for index, name in enumerate(names))
    late = frozenset(step for step in LATE_STEPS if rng.random() < 0.15)
    return DinasPlan(slug=slug, name=f"Dinas {_DINAS_NAMES[number]}", bidang=bidang,
                     late_steps=late, report_returned_first=rng.random() < 0.2)


def _bidang(rng: random.Random, slug: str, index: int, name: str,
            max_file_bytes: int) -> CityBidang:
    types = sorted(rng.sample(DOCUMENT_TYPES, rng.randint(3, 5)))
    roll = rng.random()
    fates = {t: Fate.ON_TIME for t in types}
    extension = None
    if roll < 0.10:
        fates[rng.choice(types)] = Fate.RESUBMITTED
    elif roll < 0.18:
        extension = "Kepala Bidang sedang dinas luar; dokumen disahkan sepulangnya."
    elif roll < 0.24:
        fates[rng.choice(types)] = Fate.RETURNED
    elif roll < 0.30:
        fates = {t: Fate.MISSING for t in types}
    documents = tuple(DocumentPlan(
        document_type=t, fate=fates[t], kind="xlsx" if t in XLSX_TYPES else "pdf",
        size_bytes=_size(rng, max_file_bytes)) for t in types)
    return CityBidang(name=f"Bidang {name}", staff_username=f"{slug}.staf-{index + 1:02d}",
                      documents=documents, extension_reason=extension)


def _size(rng: random.Random, max_bytes: int) -> int:
    low, high = MIN_FILE_BYTES, max(MIN_FILE_BYTES, max_bytes)
    return int(low * (high / low) ** rng.random())
