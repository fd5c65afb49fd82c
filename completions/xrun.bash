# bash completion for xrun. Candidates come from `xrun __complete`, which reads the command
# line's definition, the experiment's source and the archive's index (it never starts Python).

# A word as the command will see it: quotes and backslashes of the command line removed.
_xrun_dequote() {
    local word=$1 plain="" quote="" i c
    for ((i = 0; i < ${#word}; i++)); do
        c=${word:i:1}
        if [[ -n $quote ]]; then
            if [[ $c == "$quote" ]]; then
                quote=""
            elif [[ $c == '\' && $quote == '"' && $((i + 1)) -lt ${#word} ]]; then
                plain+=${word:i+1:1}
                ((i++))
            else
                plain+=$c
            fi
        elif [[ $c == "'" || $c == '"' ]]; then
            quote=$c
        elif [[ $c == '\' && $((i + 1)) -lt ${#word} ]]; then
            plain+=${word:i+1:1}
            ((i++))
        else
            plain+=$c
        fi
    done
    printf '%s' "$plain"
}

_xrun() {
    local current=${COMP_WORDS[COMP_CWORD]}
    local -a words lines
    local i joined=0
    # `--path=DIR` arrives as `--path` `=` `DIR` ('=' is in COMP_WORDBREAKS): xrun reads it as
    # `--path DIR`. `mod.py:train` arrives as `mod.py` `:` `train` (so is ':'): one word again.
    for ((i = 1; i <= COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == "=" ]]; then
            [[ $i -eq $COMP_CWORD ]] && words+=("")
            continue
        fi
        if [[ ${COMP_WORDS[i]} == ":" && ${#words[@]} -gt 1 ]]; then
            words[-1]+=":"
            joined=1
            continue
        fi
        if ((joined)); then
            words[-1]+="$(_xrun_dequote "${COMP_WORDS[i]}")"
            joined=0
            continue
        fi
        words+=("$(_xrun_dequote "${COMP_WORDS[i]}")")
    done
    [[ $current == "=" ]] && current=""
    mapfile -t lines < <(xrun __complete "${words[@]}" 2>/dev/null)
    COMPREPLY=()
    case "${lines[0]}" in
    ":dirs")
        compopt -o filenames 2>/dev/null
        mapfile -t COMPREPLY < <(compgen -d -- "$current")
        ;;
    ":files"*)
        compopt -o filenames 2>/dev/null
        local -a extensions paths
        read -r -a extensions <<<"${lines[0]#:files}"
        mapfile -t paths < <(compgen -f -- "$current")
        local path extension
        for path in "${paths[@]}"; do
            if [[ -d ${path/#\~/$HOME} || ${#extensions[@]} -eq 0 ]]; then
                COMPREPLY+=("$path")
                continue
            fi
            for extension in "${extensions[@]}"; do
                [[ $path == *."$extension" ]] && COMPREPLY+=("$path")
            done
        done
        ;;
    *)
        # Bash replaces only the current word: of a joined `mod.py:tr`, the part after ':'.
        local line before=""
        [[ $current != "${words[-1]}" ]] && before=${words[-1]%"$current"}
        for line in "${lines[@]}"; do
            line=${line%%$'\t'*}
            [[ -n $line ]] && COMPREPLY+=("${line#"$before"}")
        done
        ;;
    esac
}
complete -o default -F _xrun xrun
