"""String <-> id maps for words, characters, features and labels. Index 0 is padding, 1 is unknown."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

PAD, UNK = "<pad>", "<unk>"


class Vocabulary:
    def __init__(self, items: Iterable[str], specials: bool = True):
        self.items: list[str] = [PAD, UNK, *items] if specials else list(items)
        if specials and (PAD in self.items[2:] or UNK in self.items[2:]):
            self.items = [PAD, UNK] + [i for i in self.items[2:] if i not in (PAD, UNK)]
        self.index = dict(zip(self.items, range(len(self.items))))  # twice as fast as a comprehension
        self.specials = specials

    @classmethod
    def from_counts(cls, counts: Counter, min_freq: int = 1) -> Vocabulary:
        """Most frequent first (ties alphabetical), so ids do not depend on the order the data was read in."""
        return cls(sorted((v for v, n in counts.items() if n >= min_freq), key=lambda v: (-counts[v], v)))

    def __len__(self) -> int:
        return len(self.items)

    def __contains__(self, item: str) -> bool:
        return item in self.index

    def id(self, item: str) -> int:
        return self.index.get(item, 1)

    def ids(self, items: Iterable[str]) -> list[int]:
        get = self.index.get
        return [get(item, 1) for item in items]

    @staticmethod
    def from_lists(lists: dict[str, list[str]]) -> dict[str, Vocabulary]:
        """Rebuild the vocabularies saved in model.json (labels have no padding/unknown entries)."""
        return {name: Vocabulary(items, specials=name != "labels") for name, items in lists.items()}

    def to_list(self) -> list[str]:
        """The items without the specials, for model.json; `Vocabulary(list)` rebuilds the same ids."""
        return self.items[2:] if self.specials else list(self.items)
