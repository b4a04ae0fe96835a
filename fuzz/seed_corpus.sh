#!/usr/bin/env bash
# Seeds fuzz/corpus/<target>/ from the real samples in tests/data (first 50
# lines of each) and a few hand-written inputs. The corpus is not committed:
# run this once after a fresh checkout, before `cargo fuzz run`.
set -euo pipefail
cd "$(dirname "$0")"
data=../tests/data
corpus=corpus

seed() { # seed TARGET NAME: stdin becomes corpus/TARGET/NAME
    mkdir -p "$corpus/$1"
    cat > "$corpus/$1/$2"
}
head_of() { head -n 50 "$data/$1"; }

head_of rees46_multicat_sample/2019-Oct-sample.csv | seed import_rees46 oct-sample.csv
head_of taobao_userbehavior_sample/UserBehavior.csv | seed import_taobao userbehavior.csv
head_of synthetic/retailrocket_events.csv | seed import_retailrocket events.csv
head_of synthetic/diginetica_train_item_views.csv | seed import_diginetica train-item-views.csv
head_of yoochoose_100k/yoochoose-clicks-100k_train_full.txt | seed import_yoochoose clicks.txt
head_of online_retail_sample/online_retail_sample_40k.csv | seed import_online_retail retail.csv
head_of cdnow/CDNOW_master.txt | seed import_cdnow master.txt

# Generic CSV: canonical names map themselves (the REES46 header has three),
# other columns become properties, a `properties` column holds JSON.
head_of rees46_multicat_sample/2019-Oct-sample.csv | seed import_csv rees46-as-csv.csv
seed import_csv generic.csv <<'CSV'
event_time,user_id,event_type,item_id,price,quantity,currency,utm,properties
2024-03-01T10:00:00Z,u1,view,i1,,,,email,
2024-03-01 10:01:00,u1,add_to_cart,i1,12.5,2,eur,email,"{""ab"":""B""}"
1709287300,u1,purchase,i1,12.5,2,EUR,email,
2024-03-01 10:05:00 UTC,"u,2",search,,,,,,
CSV

seed import_jsonl events.jsonl <<'JSONL'
{"event_time":"2024-03-01T10:00:00Z","user_id":"u1","event_type":"search","search_query":"red shoes","properties":{"ab":"B"}}
{"event_time":1709287300,"user_id":42,"event_type":"view","item_id":"i9","price":19.9,"coupon":null}
{"event_time":"2024-03-01T10:05:00Z","user_id":"u1"
{"event_time":"2024-03-01 10:06:00","user_id":"u1","event_type":"purchase","item_id":"i1","price":"3.50","quantity":2}
JSONL

# split_fields: byte 0 is the dialect (0 `,`, 1 `;`, 2 tab, 3 whitespace; +4 quoting).
printf '\x04%s' "$(sed -n 2p "$data/online_retail_sample/online_retail_sample_40k.csv")" | seed split_fields retail-quoted
printf '\x04%s' '536365,85123A,"WHITE HANGING HEART, T-LIGHT",6,"he said ""hi""",x' | seed split_fields rfc4180
printf '\x01%s' '1;NA;81766;526309;2016-05-09' | seed split_fields diginetica
printf '\x02%s' $'3\t214716935\t1396437466.94' | seed split_fields yoochoose
printf '\x03%s' ' 00001 19970101  1   11.77' | seed split_fields cdnow

# parse_time: byte 0 is the format (0 auto, 1 unix s, 2 ms, 3 µs, 4 pattern
# then newline), byte 1 the zone (127 is UTC).
printf '\x00\x7f%s' '2019-10-01 00:00:00 UTC' | seed parse_time rees46
printf '\x00\x7f%s' '1396437466.94' | seed parse_time unix-fraction
printf '\x00\x8b%s' '2017-11-25 00:00:00' | seed parse_time naive-in-zone
printf '\x00\x7f%s' '2024-01-01T10:15:02.123456+02:00' | seed parse_time rfc3339
printf '\x00\x7f%s' '19970101' | seed parse_time yyyymmdd
printf '\x02\x7f%s' '1433221332117' | seed parse_time unix-ms
printf '\x04\x7f%s' $'%d/%m/%Y %H:%M\n30/10/2011 16:17' | seed parse_time pattern

# Last, since it compiles parquet once more (without the fuzzing flags).
mkdir -p "$corpus/import_parquet"
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}" nice -n 19 \
    cargo run --quiet --example write_parquet_seed -- "$corpus/import_parquet/events.parquet"

echo "seeded: $(find "$corpus" -type f | wc -l) files in $(pwd)/$corpus"
