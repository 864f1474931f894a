#!/usr/bin/env bash
# Clone the public theses the shipped fusion is also fit on (bench/train-projects.md) into DEST, one folder each
# (owner__repo, at the commit used; SOURCE.json names the root where the folder holds more than one document).
#     bash bench/fetch_train_projects.sh ~/texcite-train
#     python bench/fit_fusion.py ../shared/eval/dev --train-only ~/texcite-train --write
set -euo pipefail
dest=${1:?usage: fetch_train_projects.sh DEST}
mkdir -p "$dest"
# owner/repo commit root ('-': the one document with \documentclass the evaluation finds)
while read -r repo commit main; do
  into="$dest/${repo/\//__}"
  [[ -d "$into" ]] && continue
  git clone --quiet "https://github.com/$repo" "$into"
  git -C "$into" checkout --quiet "$commit"
  rm -rf "$into/.git"
  [[ "$main" == - ]] || printf '{"repo": "%s", "commit": "%s", "main": "%s"}\n' "$repo" "$commit" "$main" > "$into/SOURCE.json"
done <<'LIST'
DAlexis/phd-thesis bc737fb23bade42b31e54cf53c553f9c03af16de -
KomasaQi/Komasas-Master-Thesis 3d8e8658fb10f8746e9fa0d6cac9033231e7d934 -
SongshGeo/HumWat_YR_PhDThesis 108090950212c86e27d32803c61c834d799c00e6 -
olegrog/my_phd_thesis f29cabe297150c24b21712f4c5b6515b1840b1af -
JeremyBois/ManuscritThese a669df5a74591a5e3f4c76bc0ad83ceaa005eddd Manuscript/main.tex
cdeckert/Masterarbeit 0313bcae1bc6698d0cb12d4253dcee6097531d95 latex/main.tex
cedric-courtaud/manuscrit-these 1daad7005e286ff0e6143abe5498b72ff73e24cf main.tex
fukuta0614/master-thesis 34fd7d875f225d5ced52b5374391c095bbae16e1 syuron.tex
joenio/dissertacao-ufba-2016 96cee944e4cafe234e07af8555e4a6ff2417b0a8 dissertacao.tex
missgreenwood/masterarbeit 3049710525fef243fd43b3005489f56430c81b40 mdsg_latex_10062012/text/main.tex
pbeza/praca-magisterska b47a2a71b7555f162a6271215e54c62d07c9a632 doc/latex/thesis.tex
LIST
