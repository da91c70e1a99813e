# Editing CometBFT's config.toml from shell scripts (source this file; needs awk).
#
#   cometbft_set FILE SECTION.KEY VALUE     one setting (KEY alone: a top-level key)
#   cometbft_apply_tuning FILE [TUNING]     every SECTION.KEY=VALUE line of TUNING
#                                           (default $COMETBFT_TUNING, else
#                                           testnet/cometbft-tuning.env)
#
# Numbers and true/false are written bare, "quoted" values and [lists] as given, anything
# else as a TOML string. A key missing from its section is added at the section's end.

COMETBFT_CONFIG_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

cometbft_set() {
    local file=$1 path=$2 value=$3 section key
    if [[ $path == *.* ]]; then section=${path%%.*}; key=${path#*.}; else section=""; key=$path; fi
    if [[ ! $value =~ ^-?[0-9]+$ && $value != true && $value != false && ! $value =~ ^\".*\"$ && ! $value =~ ^\[.*\]$ ]]; then
        value="\"$value\""
    fi
    [[ -f $file ]] || { echo "cometbft_set: no file $file" >&2; return 1; }
    awk -v section="$section" -v key="$key" -v value="$value" '
        function emit() { print key " = " value; done = 1 }
        BEGIN { cur = ""; done = 0 }
        /^[ \t]*\[[^]]*\][ \t]*$/ {
            if (cur == section && !done) emit()
            h = $0; gsub(/^[ \t]*\[|\][ \t]*$/, "", h); cur = h
            print; next
        }
        {
            if (cur == section && !done && $0 ~ "^[ \t]*" key "[ \t]*=") { emit(); next }
            print
        }
        END {
            if (!done && cur == section) emit()
            if (!done) { print "cometbft_set: no section [" section "]" > "/dev/stderr"; exit 1 }
        }
    ' "$file" > "$file.tmp" && mv "$file.tmp" "$file" || { rm -f "$file.tmp"; return 1; }
}

cometbft_apply_tuning() {
    local file=$1 tuning=${2:-${COMETBFT_TUNING:-$COMETBFT_CONFIG_LIB_DIR/../cometbft-tuning.env}} line
    [[ -f $tuning ]] || { echo "cometbft_apply_tuning: no file $tuning" >&2; return 1; }
    while IFS= read -r line || [[ -n $line ]]; do
        line=${line%%#*}
        line=$(echo "$line" | tr -d '[:space:]')
        [[ -z $line ]] && continue
        cometbft_set "$file" "${line%%=*}" "${line#*=}" || return 1
    done < "$tuning"
}
