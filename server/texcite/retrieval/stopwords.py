"""Words that say nothing of the work cited: function words of the languages theses are written in, and the
vocabulary of citing itself. Left out of BM25's tokens (and of the title words typed text matches), in the form
tokens are compared in (``textnorm.fold``: 'für' is 'fur')."""

from __future__ import annotations

from texcite.textnorm import fold

# English function words and the words of a citing sentence that say nothing of the work cited.
ENGLISH_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each et al few for from further had has have
    having he her here hers him his how however i if in into is it its itself just may me might more most must
    my no nor not of off on once only or other our ours out over own same she should so some such than that the
    their theirs them then there these they this those through thus to too under until up very via was we were
    what when where which while who whom why will with would you your yours e g ie eg cf fig figure table section
    citation we our paper work show shown use used using et""".split()
)
# Function words of the other languages theses are written in (German, French, Spanish, Portuguese, Italian,
# Dutch): a thesis in one of them citing English works would otherwise match 'de', 'la' or 'und' in the few
# English titles and names that contain them, at a high IDF. Words that are also English content words
# or abbreviations ('war', 'man', 'car', 'son', 'sin', 'na', 'non', 'si', 'ha', 'era', 'sea', 'dove', 'hay', 'tem',
# 'poi', 'come', 'meme') are left out; 'für' (folded: 'fur') stays: a German thesis writes it in every
# other sentence, English titles rarely say fur.
OTHER_STOPWORDS = frozenset(
    """der die das den dem des ein eine einer eines einem einen und oder aber auch auf aus bei bis durch für
    gegen im ins ist sind waren wird werden wurde wurden haben hatte mit nach nicht noch nur sich sie er es wir
    ihr unter über vom von vor zu zum zur wie wenn dass daß dieser diese dieses diesem diesen kann können mehr
    sowie sehr zwischen welche welcher welches
    le la les un une du de et ou en au aux ce ces cet cette dans par pour sur avec sans sous est sont être été
    qui que dont où il elle ils elles nous vous ne pas plus se sa ses leur leurs mais donc comme entre aussi
    très ainsi
    el los las unos unas del al y o por para con sobre es fue ser está están como su sus lo este esta estos
    estas ese esa más pero también muy ya cuando donde cual cuales
    os um uma do da dos das em nos nas pelo pela pelos pelas com sem é são foi mais mas isso ao aos não
    il lo gli di della dei delle degli dal dalla nel nella per tra fra che è sono anche più ma questo questa
    questi uno
    het een van op te met voor door aan wordt worden naar uit als ook dat niet zijn
    beim bereits dabei dadurch dafür daher damit dann darauf darin davon dazu deren dessen doch dort ebenfalls
    einige einigen etwa etwas hier hierbei hingegen ihre ihrem ihren ihrer indem insbesondere jede jedem jeden
    jeder jedes jedoch kein keine keinen keiner lassen lässt müssen muss nun ob ohne schon sehr seine seinen
    seiner seit selbst sodass solche somit sondern soll sollen sowohl uns unsere viele vielen während weil
    weitere wieder wobei zudem zunächst zwar allerdings außerdem beispielsweise bzw vgl
    ont avons été avoir peut peuvent tout tous toute toutes autre autres bien lors afin selon alors encore déjà
    était sont cela ceci celui celle ceux chaque plusieurs certains certaines également notamment cependant
    toutefois permet permettent permettant depuis pendant parmi travers après avant quand puis ici notre nos
    faire fait peu
    também ainda mesmo então porém entretanto contudo seu sua seus suas esse essa esses essas isto ele ela eles
    elas pode podem já apenas assim cada outro outra outros outras todo toda todos todas vez
    vezes através sendo sido desta deste nesta neste dessa desse nessa nesse qual quais cujo cuja muito muitos
    muita muitas onde após nem seja sejam foram eram estão possui possuem algum alguma alguns algumas acordo durante
    puede pueden desde hasta otro otra otros otras mismo misma aunque además así tanto alguno alguna algunos algunas
    nuestro nuestra eso esto aquí mediante según tal tales dicho dicha dichos dichas sean fueron tiene tienen
    essere stato stata stati hanno può possono loro suo suoi sue quale quali cui quando mentre sia alla
    alle allo agli dello dai dalle nei nelle negli nello sul sulla sulle sui col questa queste quello quella
    quelli ogni tutto tutti tutte tutta altro altra altri altre molto molti già ancora quindi però inoltre
    infatti invece cioè ovvero tramite attraverso verso senza dopo""".split()
)
# Function words of more languages whose words BM25 reads (Russian, Polish, Turkish, Ukrainian, Persian, Arabic,
# Finnish, Czech, Greek; the scripts without spaces are read as character pairs, ``bm25.unspaced``): in a thesis
# citing works in its own language they would match every title at once. Polish 'na', 'od', 'ten' and 'ale' (Czech's
# too) are English words as well, Finnish 'hän', 'sen', 'kun' and Czech 'tím', 'tak', 'jen' fold to names ('Han',
# 'Tim'), Czech 'kde', 'pro' to English words: not listed. With the citing vocabulary of Russian theses ('см.',
# 'рис.', 'работе').
MORE_STOPWORDS = frozenset(
    """и в во не что он на я с со как а то все она так его но да к у же за бы по только ее от еще нет о из
    когда даже ли если уже или ни быть был него до там потом себя ничего ей может они тут где есть для мы их
    чем была сам без чего раз тоже себе под будет тогда кто этот того потому этого какой ним здесь этом один
    тем чтобы при два об другой после над больше тот через эти нас про всего них какая много три эту этой
    перед том такой им более всегда между это также является являются был были было который которая которое
    которые которых котором которой которую данный данной данных данные работе работы работа см рис табл
    например так как однако поэтому при этом этих
    że się nie jest do to jak po za przez dla oraz czy są które który która może tylko jako już tym
    tego jej jego ich ta te tej tych także lub gdy ze pracy
    bir ve bu da için ile olarak olan daha çok gibi ama kadar sonra her olduğu ise veya tarafından göre ki
    değil şekilde arasında üzerinde ancak
    і й та з із від що це як який яка які яке також його її їх було бути є або але для при до за на не по
    از است برای که را و در به این با های می ها یک شده آن شود کرد بر تا هم نیز کند دارد باشد بود شد هر یا اما
    في من على إلى أن عن مع هذا هذه التي الذي كان وقد ما لا أو ثم قد كما بين
    ja että oli ovat kuin mutta joka jotka sekä myös niiden jonka joiden mukaan välillä kanssa avulla ollut olla
    voidaan
    je jsou byl byla bylo být není jejich jeho její tento tato toto tyto této tohoto nebo přes díky jelikož
    který která které kterou kteří při podle mezi také však pouze jako jak aby když již už až
    και το τα της του την των τον σε με για από στο στη στην στον στα που ότι είναι ένα μια οι ως δεν θα
    αυτό αυτή αυτά αλλά όπως επίσης μεταξύ""".split()
)
STOPWORDS = frozenset(map(fold, ENGLISH_STOPWORDS | OTHER_STOPWORDS | MORE_STOPWORDS))
