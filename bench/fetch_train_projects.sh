#!/usr/bin/env bash
# Clone the public theses the shipped fusion is also fit on (bench/train-projects.md) into DEST, one folder each
# (owner__repo, at the commit used, only the given folder where the thesis is one folder of its repository;
# SOURCE.json names the root where the folder holds more than one document).
#     bash bench/fetch_train_projects.sh ~/texcite-train
#     python bench/fit_fusion.py ../shared/eval/dev --train-only ~/texcite-train --write
set -euo pipefail
dest=${1:?usage: fetch_train_projects.sh DEST}
mkdir -p "$dest"
# owner/repo commit root ('-': the one document with \documentclass the evaluation finds) [folder of the thesis]
while read -r repo commit main sub; do
  into="$dest/${repo/\//__}"
  [[ -d "$into" ]] && continue
  git clone --quiet "https://github.com/$repo" "$into"
  git -C "$into" checkout --quiet "$commit"
  rm -rf "$into/.git"
  if [[ -n "$sub" ]]; then
    mv "$into" "$into.whole" && mv "$into.whole/$sub" "$into" && rm -rf "$into.whole"
  fi
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
Blaisorblade/phd-thesis 65f21ed5ec1eb714735529b9e5a097d350395e19 thesis-main.tex
Ludwig-H/Manuscrit-de-th-se 198b98027a71196b38942e67a93aa44297a13d97 main.tex Manuscrit_de_these/Manuscrit these Louis Hauseux
PatrickBaus/phd_thesis f9712f9de42f88e4b694402c7832d74b2e5da089 main.tex
adimajo/manuscrit_these 10ca8d09b256af8199cf1a665b6177fba45bd7cf these.tex
astoeckel/phd_thesis a1ebf8dcd640f8929d765623684e4d61867905fb astoeckel_phd_thesis_2021.tex
aterenin/phdthesis d1476cbdd9c92b788505b25077b38b92a35c35ca Terenin-A-2022-PhD-Thesis.tex
franziskuskiefer/phd-thesis a4a1282ac4dea9c298796594d5f805243b759112 thesis.tex phd/thesis
kouchy/phd_thesis 669520b12b45265823a98b4fb2517975793bdb22 my_thesis.tex
lukasziegler/masterarbeit 936ad7f2261d615cc15b0a036a5852b0f0981723 thesis.tex thesis
maxnoe/phd_thesis a68b621cc8b658aa858342a4cfdaed68c3823257 phd_mnoethe.tex thesis
michel-steuwer/phd-thesis 521e53eb0de019328685a5bbe21fa2a372e0b6b6 main.tex
thangleiter/phd_thesis 27f11d608ce5ec911a5b2eadf45062b962c3979c main.tex
ttm/dissertacao 76f1c5c1c42dbb5c35ebbf47b3b07b138e5c6b01 dissertacao.tex
LIST
