# fish completion for xrun. Candidates come from `xrun __complete`, which reads the command
# line's definition, the experiment's source and the archive's index (it never starts Python).
function __xrun_complete
    set -l words (commandline -opc)[2..-1] (commandline -ct)
    set -l lines (xrun __complete $words 2>/dev/null)
    switch "$lines[1]"
        case ':dirs'
            __fish_complete_directories (commandline -ct)
        case ':files*'
            set -l extensions (string split -n ' ' -- (string replace ':files' '' -- $lines[1]))
            set -l paths (__fish_complete_path (commandline -ct))
            if test (count $extensions) -eq 0
                printf '%s\n' $paths
            else
                # Folders (to go on into) and files with one of the extensions.
                string match -r --entire -- '(?:/|\.(?:'(string join '|' $extensions)'))(?:\t.*)?$' $paths
            end
        case '*'
            printf '%s\n' $lines
    end
end
complete -c xrun -f -a '(__xrun_complete)'
