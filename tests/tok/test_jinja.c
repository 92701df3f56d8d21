/*
 * test_jinja.c — the Jinja interpreter (runtime/text/jinja) construct by construct: whitespace
 * control (trim_blocks, lstrip_blocks, -, +, comments, raw, the dropped last newline), Python
 * printing, every operator, indexing and slicing by code point, each statement (for with loop.*,
 * filters, else, break/continue; set with its scoping, tuples, namespaces and blocks; macros with
 * defaults, keywords, varargs/kwargs, closures and recursion; if/elif/else; filter blocks), the
 * tests, filters, methods and globals, Python semantics templates lean on, tojson as transformers'
 * json.dumps, undefined semantics, syntax and render errors with their line, JSON variables (int
 * vs float, key order), every limit (a hostile template fails fast), and concurrent renders of one
 * parsed template.
 *
 * The expected texts of CASES were produced by jinja2 3.1 in transformers' environment
 * (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, its tojson); no file
 * of ../shared is needed.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "text/jinja/jinja.h"
#include "text/jinja/jinja_value.h"

typedef struct jcase {
  const char *group, *tmpl, *vars, *want;
} jcase;

static const jcase CASES[] = {
    {"ws", "a\n  {% if true %}\n  b\n  {% endif %}\nc\n",
     NULL,
     "a\n  b\nc"},
    {"ws", "a  {%- if true -%}  b  {%- endif -%}  c",
     NULL,
     "abc"},
    {"ws", "a {{- 'x' -}} b",
     NULL,
     "axb"},
    {"ws", "  {# c #}\nx\n",
     NULL,
     "x"},
    {"ws", "{% if true %}x{% endif %}\n\n",
     NULL,
     "x"},
    {"ws", "  {%+ if true %}x{% endif %}",
     NULL,
     "  x"},
    {"ws", "{% if true +%}\nx{% endif %}",
     NULL,
     "\nx"},
    {"ws", "{{ 'a' }}\n{{ 'b' }}\n",
     NULL,
     "a\nb"},
    {"ws", "x  {{ 1 }}  {% if 1 %}  y  {% endif %}",
     NULL,
     "x  1    y  "},
    {"ws", "{% raw %}{{ x }}{% endraw %}",
     NULL,
     "{{ x }}"},
    {"ws", "a\r\nb\r\n",
     NULL,
     "a\nb"},
    {"ws", "  {% if true %}\n{% endif %}  x",
     NULL,
     "  x"},
    {"ws", "{{ 1 }}  {% if true %}y{% endif %}",
     NULL,
     "1  y"},
    {"print", "{{ z }} {{ t }} {{ n }} {{ f }} {{ big }} {{ neg }} {{ 1/3 }} {{ 10/2 }} {{ 1e-5 }} {{ 0.1+0.2 }} {{ 123456789012345678 }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "None True 3 2.5 1e+16 -0.0 0.3333333333333333 5.0 1e-05 0.30000000000000004 123456789012345678"},
    {"print", "{{ l }} {{ d }} {{ msgs }} {{ (1,) }} {{ (1,'a') }} {{ [none, true, 'it''s'] }} {{ \"it's\" }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "[3, 1, 2] {'b': 1, 'a': 2} [{'role': 'user', 'content': 'Hi'}, {'role': 'assistant', 'content': 'Yo'}] (1,) (1, 'a') [None, True, 'its'] it's"},
    {"print", "{{ ['a\"b', \"c'd\", 'e\\nf'] }}",
     NULL,
     "['a\"b', \"c'd\", 'e\\nf']"},
    {"print", "{{ undefined_thing }}|{{ d.missing }}|{{ s.content }}|{{ l[7] }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "|||"},
    {"print", "{{ 1e15 }} {{ 1.5e-7 }} {{ 0.0001 }} {{ 100.0 }} {{ 2**62 }}",
     NULL,
     "1000000000000000.0 1.5e-07 0.0001 100.0 4611686018427387904"},
    {"op", "{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 2 ** 10 }} {{ 7 / 2 }} {{ 2 * 3 }} {{ 'ab' * 3 }} {{ [1] * 2 }} {{ 1 + 2.0 }} {{ 5 - 7 }}",
     NULL,
     "3 -4 1 2 1024 3.5 6 ababab [1, 1] 3.0 -2"},
    {"op", "{{ 'a' ~ 1 ~ none ~ true }} {{ 'a' + 'b' }} {{ [1] + [2] }} {{ 'x' in 'xyz' }} {{ 2 in [1,2] }} {{ 'a' in {'a':1} }} {{ 'q' not in 'abc' }}",
     NULL,
     "a1NoneTrue ab [1, 2] True True True True"},
    {"op", "{{ 1 == 1.0 }} {{ true == 1 }} {{ [1,2] == [1,2] }} {{ {'a':1,'b':2} == {'b':2,'a':1} }} {{ 'a' < 'b' }} {{ 1 < 2 < 3 }} {{ 3 >= 3 }} {{ none == none }}",
     NULL,
     "True True True True True True True True"},
    {"op", "{{ not true }} {{ true and 'x' }} {{ '' or 'y' }} {{ 0 or [] }} {{ 'a' if false else 'b' }} {{ 'a' if true }} [{{ 'a' if false }}]",
     NULL,
     "False x y [] b a []"},
    {"op", "{{ -n }} {{ +n }} {{ -f }} {{ - 3 | abs }} {{ 2 + 3 * 4 }} {{ (2 + 3) * 4 }} {{ 2 ** 3 ** 2 }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "-3 3 -2.5 3 14 20 64"},
    {"op", "{{ 'x' ~ (1 + 2) }} {{ 'a' ~ 'b' == 'ab' }} {{ not 1 == 2 }} {{ 1 in [1] and 2 in [2] }}",
     NULL,
     "x3 True True True"},
    {"index", "{{ s[0] }} {{ s[-1] }} {{ s[1:3] }} {{ s[::-1] }} {{ s[:-1] }} {{ l[::2] }} {{ l[-2:] }} {{ l[5] }} {{ s|length }} {{ msgs[0].role }} {{ msgs[-1]['content'] }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "h d \xc3""\xa9""l dlr\xc3""\xb6""w oll\xc3""\xa9""h h\xc3""\xa9""llo w\xc3""\xb6""rl [3, 2] [1, 2]  11 user Yo"},
    {"index", "{{ l[1:-1] }} {{ l[::-1] }} {{ s[2::-1] }} {{ l[10:] }} {{ 'abc'[-5:2] }} {{ msgs.0.role }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "[1] [2, 1, 3] l\xc3""\xa9""h [] ab user"},
    {"index", "{{ d['items'] }} {{ d.get('a') }} {{ d.get('q', 'dflt') }} {{ d.get('q') }} {{ d.items is defined }}",
     "{\"d\": {\"items\": 5, \"a\": 1}}",
     "5 1 dflt None True"},
    {"for", "{% for x in l %}{{ loop.index }}{{ loop.index0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }}{{ loop.revindex }};{% endfor %}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "10TrueFalse33;21FalseFalse32;32FalseTrue31;"},
    {"for", "{% for x in l %}{{ loop.previtem }}-{{ loop.nextitem }};{% endfor %}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "-1;3-2;1-;"},
    {"for", "{% for k, v in d.items() %}{{ k }}={{ v }},{% endfor %}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "b=1,a=2,"},
    {"for", "{% for k in d %}{{ k }}{% endfor %}{% for c in 'h\xc3""\xa9""y' %}[{{ c }}]{% endfor %}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "ba[h][\xc3""\xa9""][y]"},
    {"for", "{% for x in l if x > 1 %}{{ x }}{{ loop.last }}{% else %}none{% endfor %}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "3False2True"},
    {"for", "{% for x in [] %}x{% else %}empty{% endfor %}{% for x in undefined_var %}x{% endfor %}",
     NULL,
     "empty"},
    {"for", "{% for x in l %}{% if x == 1 %}{% break %}{% endif %}{{ x }}{% endfor %}|{% for x in l %}{% if x == 1 %}{% continue %}{% endif %}{{ x }}{% endfor %}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "3|32"},
    {"for", "{% for a in [1,2] %}{% for b in [3,4] %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{% endfor %}",
     NULL,
     "113 214 123 224 "},
    {"for", "{% for x in l %}{{ loop.cycle('a', 'b') }}{% endfor %}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "aba"},
    {"set", "{% set x = 1 %}{% for i in [1,2] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}",
     NULL,
     "231"},
    {"set", "{% set ns = namespace(c=0) %}{% for i in [1,2,3] %}{% set ns.c = ns.c + i %}{% endfor %}{{ ns.c }}",
     NULL,
     "6"},
    {"set", "{% if true %}{% set y = 5 %}{% endif %}{{ y }}",
     NULL,
     "5"},
    {"set", "{% set a, b = [1, 2] %}{{ a }}{{ b }}{% set c = 1, 2 %}{{ c }}",
     NULL,
     "12(1, 2)"},
    {"set", "{% set blk %}inner {{ 1 + 1 }}{% endset %}[{{ blk }}]",
     NULL,
     "[inner 2]"},
    {"set", "{% set blk | upper %}inner{% endset %}[{{ blk }}]",
     NULL,
     "[INNER]"},
    {"set", "{% set ns = namespace(a=1, b=[]) %}{% set ns.b = ns.b + [2] %}{{ ns.a }}{{ ns.b }}",
     NULL,
     "1[2]"},
    {"macro", "{% macro m(a, b=2, c='x') %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ m(1) }}{{ m(1, 3) }}{{ m(1, c='y') }}{{ m(a=5) }}",
     NULL,
     "12x13x12y52x"},
    {"macro", "{% macro r(n) %}{% if n > 0 %}{{ n }}{{ r(n - 1) }}{% endif %}{% endmacro %}{{ r(4) }}",
     NULL,
     "4321"},
    {"macro", "{% set g = 'G' %}{% macro m() %}{{ g }}{{ n }}{% set g = 'L' %}{{ g }}{% endmacro %}{{ m() }}{{ g }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "G3LG"},
    {"macro", "{% macro m(x) %}[{{ x }}]{% endmacro %}{{ m('a') ~ m('b') }}{{ m(1) | length }}",
     NULL,
     "[a][b]3"},
    {"if", "{% if n == 1 %}a{% elif n == 3 %}b{% elif n == 4 %}c{% else %}d{% endif %}{% if not z %}e{% endif %}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "be"},
    {"if", "{% filter upper %}abc{% endfilter %}",
     NULL,
     "ABC"},
    {"test", "{{ x is defined }}{{ n is defined }}{{ z is none }}{{ x is none }}{{ s is string }}{{ n is number }}{{ d is mapping }}{{ l is mapping }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "FalseTrueTrueFalseTrueTrueTrueFalse"},
    {"test", "{{ s is sequence }}{{ d is sequence }}{{ l is iterable }}{{ x is iterable }}{{ t is boolean }}{{ n is boolean }}{{ t is true }}{{ n is false }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "TrueTrueTrueTrueTrueFalseTrueFalse"},
    {"test", "{{ 3 is odd }}{{ 4 is even }}{{ 'a' is equalto 'a' }}{{ n is not none }}{{ 6 is divisibleby 3 }}{{ n is integer }}{{ f is float }}{{ n is sameas 3 }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "TrueTrueTrueTrueTrueTrueTrueTrue"},
    {"filter", "{{ '  x  '|trim }}|{{ 'xxaxx'|trim('x') }}|{{ l|length }}|{{ d|count }}|{{ l|first }}|{{ l|last }}|{{ l|join(', ') }}|{{ l|list }}|{{ n|string }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "x|a|3|2|3|2|3, 1, 2|[3, 1, 2]|3"},
    {"filter", "{{ x|default('D') }}|{{ e|default('D') }}|{{ e|default('D', true) }}|{{ z|default('D', true) }}|{{ x|d('q') }}|{{ x|length }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "D||D|D|q|0"},
    {"filter", "{{ d|items|list }}|{{ d|dictsort }}|{{ l|sort }}|{{ l|sort(reverse=true) }}|{{ ['b','A','a']|sort }}|{{ ['b','A','a','B']|unique|list }}|{{ l|min }}|{{ l|max }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "[('b', 1), ('a', 2)]|[('a', 2), ('b', 1)]|[1, 2, 3]|[3, 2, 1]|['A', 'a', 'b']|['b', 'A']|1|3"},
    {"filter", "{{ msgs|map(attribute='role')|list }}|{{ msgs|selectattr('role', 'equalto', 'user')|list }}|{{ msgs|rejectattr('role', 'equalto', 'user')|map(attribute='content')|join }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "['user', 'assistant']|[{'role': 'user', 'content': 'Hi'}]|Yo"},
    {"filter", "{{ [1,2,3,4]|select('odd')|list }}|{{ [1,2,3,4]|reject('odd')|list }}|{{ ['a',none,'b']|select|list }}|{{ ['a','b']|map('upper')|list }}",
     NULL,
     "[1, 3]|[2, 4]|['a', 'b']|['A', 'B']"},
    {"filter", "{{ 'hello'|upper }}|{{ 'HeLLo'|lower }}|{{ 'hello world'|title }}|{{ 'hello WORLD'|capitalize }}|{{ 'aXa'|replace('a', 'b') }}|{{ 'x'|safe }}",
     NULL,
     "HELLO|hello|Hello World|Hello world|bXb|x"},
    {"filter", "{{ 2.567|round(2) }}|{{ 2.5|round }}|{{ -3|abs }}|{{ '42'|int }}|{{ 'x'|int }}|{{ '1.5'|float }}|{{ 3|float }}|{{ l|reverse|list }}|{{ 'abc'|reverse }}|{{ l|sum }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "2.57|2.0|3|42|0|1.5|3.0|[2, 1, 3]|cba|6"},
    {"filter", "{{ 'a b  c'|wordcount }}|{{ 'a\nb\n\nc'|indent(2) }}|{{ 'a\nb'|indent(2, true) }}|{{ [1,2,3]|batch(2)|list }}",
     NULL,
     "3|a\n  b\n\n  c|  a\n  b|[[1, 2], [3]]"},
    {"filter", "{{ msgs|sort(attribute='role')|map(attribute='content')|join }}|{{ msgs|sort(attribute='content', reverse=true)|first }}|{{ l|map('string')|join('-') }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "YoHi|{'role': 'assistant', 'content': 'Yo'}|3-1-2"},
    {"filter", "{{ [{'x': 1}, {'x': 0}, {}] | selectattr('x') | list }}|{{ [{'x': 1}, {}] | selectattr('x', 'defined') | list }}",
     NULL,
     "[{'x': 1}]|[{'x': 1}]"},
    {"tojson", "{{ d|tojson }}|{{ msgs|tojson }}|{{ '\xc3""\xa9""\"\\\\\n\t\x1b""'|tojson }}|{{ '\xc3""\xa9""'|tojson(ensure_ascii=true) }}|{{ [1.0, 2.50, 1e20, none, true]|tojson }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "{\"b\": 1, \"a\": 2}|[{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}]|\"\xc3""\xa9""\\\"\\\\\\n\\t\\u001b\"|\"\\u00e9\"|[1.0, 2.5, 1e+20, null, true]"},
    {"tojson", "{{ {'a': [1, {'b': []}], 'c': {}}|tojson(indent=2) }}",
     NULL,
     "{\n  \"a\": [\n    1,\n    {\n      \"b\": []\n    }\n  ],\n  \"c\": {}\n}"},
    {"tojson", "{{ d|tojson(sort_keys=true) }}|{{ d|tojson(separators=(',', ':')) }}|{{ '\xf0""\x9f""\x98""\x80""'|tojson }}|{{ '\xf0""\x9f""\x98""\x80""'|tojson(ensure_ascii=true) }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "{\"a\": 2, \"b\": 1}|{\"b\":1,\"a\":2}|\"\xf0""\x9f""\x98""\x80""\"|\"\\ud83d\\ude00\""},
    {"method", "{{ ' a b '.split() }}{{ 'a,b,,c'.split(',') }}{{ 'a b c'.split(' ', 1) }}{{ 'a,b,c'.rsplit(',', 1) }}{{ '  x '.strip() }}|{{ 'xxyxx'.lstrip('x') }}|{{ 'xxyxx'.rstrip('x') }}",
     NULL,
     "['a', 'b']['a', 'b', '', 'c']['a', 'b c']['a,b', 'c']x|yxx|xxy"},
    {"method", "{{ 'abc'.startswith('a') }}{{ 'abc'.endswith(('x','c')) }}{{ 'aaa'.replace('a','b',2) }}{{ 'ab'.upper() }}{{ 'AB'.lower() }}{{ 'hi {} {x}'.format(1, x=2) }}{{ 'abc'.find('c') }}{{ 'a\xe3""\x80""\x80""b\xc2""\xa0""c'.split() }}",
     NULL,
     "TrueTruebbaABabhi 1 22['a', 'b', 'c']"},
    {"method", "{{ d.keys()|list }}{{ d.values()|list }}{{ d.items()|list }}{{ '\xe2""\x80""\x83""x\xe2""\x80""\x83""'.strip() }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld\", \"n\": 3, \"f\": 2.5, \"l\": [3, 1, 2], \"d\": {\"b\": 1, \"a\": 2}, \"e\": \"\", \"z\": null, \"t\": true, \"msgs\": [{\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Yo\"}], \"big\": 1e+16, \"neg\": -0.0}",
     "['b', 'a'][1, 2][('b', 1), ('a', 2)]x"},
    {"method", "{{ 'a\\nb\\r\\nc'.splitlines() }}{{ 'x'.title() }}{{ 'hello world'.title() }}{{ '%s and %d' % ('a', 3) }}",
     NULL,
     "['a', 'b', 'c']XHello Worlda and 3"},
    {"global", "{{ range(3)|list }}{{ range(1, 7, 2)|list }}{{ range(5, 0, -2)|list }}{% for i in range(3) %}{{ i }}{% endfor %}",
     NULL,
     "[0, 1, 2][1, 3, 5][5, 3, 1]012"},
    {"global", "{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%Y-%m-%d') }}|{{ strftime_now('%A %B %-d') }}",
     NULL,
     "07 Dec 2026|2026-12-07|Monday December 7"},
    {"global", "{% set ns = namespace(a=1) %}{{ ns.a }}{{ dict(x=1, y=2) }}{{ namespace is defined }}",
     NULL,
     "1{'x': 1, 'y': 2}True"},
    {"python", "{{ msgs[0]['content'][:5] }}|{{ msgs[0].content|trim }}|{{ (msgs|last).role }}|{{ msgs|selectattr('role', 'equalto', 'system')|list|length }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "  Sys|Sys|assistant|1"},
    {"python", "{{ msgs[2].tool_calls[0].function.arguments|tojson }}|{{ tools[0]['function']['parameters']|tojson }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "\"{\\\"a\\\": 1}\"|{\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}"},
    {"python", "{% for k in tools[0].function.parameters.properties %}{{ k }},{% endfor %}{% for k, v in tools[0].function.parameters.properties.items() %}{{ k }}={{ v.type }};{% endfor %}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "z,a,z=number;a=string;"},
    {"python", "{{ range(msgs|length - 1, -1, -1)|list }}|{{ msgs|reverse|map(attribute='role')|join(',') }}|{{ dict(a=1).a }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "[2, 1, 0]|assistant,user,system|1"},
    {"python", "{{ {'a': 1,} }}{{ [1,2,] }}{{ (1,2,) }}|{{ '{' }}{{ \"}}\" }}|{{ 'x}}y' }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "{'a': 1}[1, 2](1, 2)|{}}|x}}y"},
    {"python", "{{ 'abc'|first }}|{{ none|string }}|{{ n is defined }}|{{ n.bar is defined }}|{{ 5|string|length }}|{{ 'get' in tools[0].function.name }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "a|None|True|False|1|True"},
    {"python", "{{ 1 if n else 2 if x else 3 }}|{% if not (n or x) %}a{% else %}b{% endif %}|{{ -1 ** 2 }}|{{ 2 ** -1 }}|{{ 10 // 3.0 }}|{{ 7.5 % 2 }}|{{ 'x' * -1 }}|{{ [1,2] * 0 }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "2|b|1|0.5|3.0|1.5||[]"},
    {"python", "{{ msgs|length is odd }}|{{ 3|round }}|{{ 2.5|int }}|{{ '3.7'|int }}|{{ true|int }}|{{ x|trim }}|{{ 'Hello'[1:] }}|{{ d|length }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "True|3|2|3|1|5|ello|3"},
    {"python", "{{ ['b','a']|sort|join(',') }}|{{ 'ab'|list }}|{{ d|list }}|{{ {'a':1}.items()|list }}|{{ 'x'.join(['a','b']) }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "a,b|['a', 'b']|['b', 'a', 'c']|[('a', 1)]|axb"},
    {"python", "{{ '%.2f'|format(3.14159) }}|{{ '%05d'|format(42) }}|{{ '%s' % n }}|{{ '%s-%s'|format('a', 'b') }}|{{ '%-4s|'|format('a') }}|{{ '%x'|format(255) }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "3.14|00042|None|a-b|a   ||ff"},
    {"python", "{{ u8[2:] }}|{{ u8|length }}|{{ u8[-2] }}|{{ u8|reverse }}|{{ u8 < 'z' }}|{{ u8.startswith('\xe6""\x97""\xa5""\xe6""\x9c""\xac""') }}|{{ u8|upper }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""|7|\xe3""\x82""\xb9""|\xe3""\x83""\x88""\xe3""\x82""\xb9""\xe3""\x82""\xad""\xe3""\x83""\x86""\xe8""\xaa""\x9e""\xe6""\x9c""\xac""\xe6""\x97""\xa5""|False|True|\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88"""},
    {"python", "{{ d|dictsort(by='value', reverse=true) }}|{{ d|dictsort(false, 'value') }}|{{ d.c }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "[('c', 3), ('b', 2), ('a', 1)]|[('a', 1), ('b', 2), ('c', 3)]|3"},
    {"python", "{% for m in msgs %}{{ loop.index0 % 2 == 0 }}{{ ' ' ~ m.role }}{% endfor %}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "True systemFalse userTrue assistant"},
    {"python", "{{ msgs[1].content.startswith(('He', 'x')) }}|{{ 'a' == none }}|{{ msgs[1].content.split(' ')[-1] }}|{{ msgs[1].content.split()|length }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "True|False|there|2"},
    {"python", "{%- for m in msgs -%}\r\n  {%- if m.content is not none and m.content|length > 0 -%}\r\n[{{ m.content }}]\r\n  {%- endif -%}\r\n{%- endfor -%}\r\n",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "[  Sys  ][Hello there]"},
    {"python", "{% macro render(t, indent=0) %}{{ ' ' * indent }}{{ t.function.name }}{% endmacro %}{{ render(tools[0], indent=2) }}{{ render(t=tools[0]) }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "  get_weatherget_weather"},
    {"python", "{{ x|tojson }}{{ 1.0|tojson }}{{ 'a\\u2028b'|tojson }}{{ [d]|tojson(indent=4) }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "51.0\"a\xe2""\x80""\xa8""b\"[\n    {\n        \"b\": 2,\n        \"a\": 1,\n        \"c\": 3\n    }\n]"},
    {"python", "{{ tools|map(attribute='function')|map(attribute='name')|list }}{{ tools|map(attribute='function.name')|first }}{{ msgs|map(attribute='nope', default='D')|list }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "['get_weather']get_weather['D', 'D', 'D']"},
    {"python", "{{ d.values()|sum }}{{ [3,1,2]|sort(reverse=true)|first }}{{ [1,2,3][1:]|length }}{{ msgs[1:]|map(attribute='role')|join }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "632userassistant"},
    {"python", "{{ 'A'|lower + 'b'|upper }}{{ ('a' ~ 'b')|upper }}{{ 'x'|replace('x', 'y')|upper }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "aBABY"},
    {"python", "{{ msgs[0] }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "{'role': 'system', 'content': '  Sys  '}"},
    {"python", "{{ tools[0].function.parameters.properties.z.minimum + 1 }}{{ 0.1 * 3 }}{{ 1e100 }}{{ 1.5e300 * 1e10 }}{{ -1e-7 }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "1.50.300000000000000041e+100inf-1e-07"},
    {"python", "{% set count = namespace(v=0) %}{% for m in msgs if m.role == 'user' %}{% set count.v = count.v + 1 %}{% endfor %}{{ count.v }}{{ count }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "1<Namespace {'v': 1}>"},
    {"python", "{% set ns = namespace() %}{% set ns.a = 1 %}{{ ns.a }}{{ ns.b is defined }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "1False"},
    {"python", "{% for a, b in d|dictsort %}{{ a }}{{ b }}{% endfor %}{% for a, b in [('x', 1)] %}{{ a }}{{ b }}{% endfor %}{% for (a, b) in [[1, 2]] %}{{ a + b }}{% endfor %}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "a1b2c3x13"},
    {"python", "{{ msgs|selectattr('tool_calls', 'defined')|list|length }}{{ msgs|rejectattr('content', 'none')|list|length }}{{ msgs|selectattr('content', 'string')|list|length }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "122"},
    {"python", "{{ msgs|selectattr('role', 'in', ['user', 'system'])|list|length }}{{ [1,5,3]|select('gt', 2)|list }}{{ [1,5,3]|select('lessthan', 2)|list }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "2[5, 3][1]"},
    {"python", "{{ 'a b'.split(' ', -1) }}{{ 'abc'.split('b') }}{{ ''.split() }}{{ ''.split(',') }}{{ '  a  b  '.split(None, 1) }}{{ 'a  b  '.rsplit(None, 1) }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "['a', 'b']['a', 'c'][]['']['a', 'b  ']['a', 'b']"},
    {"python", "{{ 'abcabc'.count('b') }}{{ 'abc'.index('c') }}{{ 'abc'.rfind('x') }}{{ 'Ab1'.isalnum() }}{{ '12'.isdigit() }}{{ 'Hello World'.swapcase() }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "22-1TrueTruehELLO wORLD"},
    {"python", "{{ 'hello'.capitalize() }}{{ 'hELLO wORLD'.title() }}{{ 'x'.center is defined }}{{ 'abc'.removeprefix('a') }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "HelloHello WorldTruebc"},
    {"python", "{{ loop is defined }}{% for i in [1] %}{{ loop is defined }}{{ loop.depth }}{% for j in [1] %}{{ loop.depth }}{{ loop.depth0 }}{% endfor %}{% endfor %}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "FalseTrue110"},
    {"python", "{% for i in [1,2,3] %}{{ loop.revindex0 }}{{ loop.changed(i) if false }}{% endfor %}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "210"},
    {"python", "{% if x is divisibleby(5) %}div{% endif %}{{ x is ge(5) }}{{ x is lt 3 }}{{ x is eq 5 }}{{ 'A' is upper }}{{ 'a' is lower }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "divTrueFalseTrueTrueTrue"},
    {"python", "{{ [1, 'a'] | string }}{{ (1,) | string }}{{ {'k': (1, 2)} }}{{ [none] | tojson }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "[1, 'a'](1,){'k': (1, 2)}[null]"},
    {"python", "{{ msgs[5] is defined }}{{ (msgs[5].x is defined) if msgs|length > 5 else 'short' }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "Falseshort"},
    {"python", "{{ 'aaa'.replace('', '-') }}{{ 'abc'.replace('b', '') }}{{ 'abc'|replace('', '.') }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "-a-a-a-ac.a.b.c."},
    {"python", "{{ d['missing'] is defined }}{{ d.get('missing', {}).get('x', 'deep') }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "Falsedeep"},
    {"python", "{{ msgs|map(attribute='content')|select|map('trim')|join('|') }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "Sys|Hello there"},
    {"python", "{{ '\xc3""\xa9""'|tojson(ensure_ascii=false) }}{{ '\xc3""\xa9""'|tojson(ensure_ascii=true) }}{{ '\\x7f\\x00'|tojson }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "\"\xc3""\xa9""\"\"\\u00e9\"\"\x7f""\\u0000\""},
    {"python", "{{ [1, 2] == (1, 2) }}{{ (1, 2) == (1, 2) }}{{ [1, [2]] == [1, [2]] }}{{ 1 == '1' }}{{ 1.5 == 1.5 }}{{ none != none }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "FalseTrueTrueFalseTrueFalse"},
    {"python", "{{ 'abc' < 'abd' }}{{ [1, 2] < [1, 3] }}{{ 2 > 1.5 }}{{ true > false }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "TrueTrueTrueTrue"},
    {"python", "{% set a = 'x' %}{% macro m() %}{{ a }}{% endmacro %}{% set a = 'y' %}{{ m() }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "y"},
    {"python", "{% macro outer() %}{% macro inner() %}I{% endmacro %}{{ inner() }}O{% endmacro %}{{ outer() }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "IO"},
    {"python", "{% for i in range(3) %}{% set x = i %}{% endfor %}{{ x }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "5"},
    {"python", "{% set items = [] %}{% for i in range(3) %}{% set items = items + [i] %}{% endfor %}{{ items }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "[]"},
    {"python", "{%- if msgs[0].role == 'system' -%}{%- set sys = msgs[0].content -%}{%- set rest = msgs[1:] -%}{%- else -%}{%- set rest = msgs -%}{%- endif -%}{{ sys }}{{ rest|length }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "  Sys  2"},
    {"python", "{{ (msgs | selectattr('role', 'equalto', 'user') | first).content }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "Hello there"},
    {"python", "{{ [3, 1, 2] | sort | list }}{{ [{'a': 2}, {'a': 1}] | sort(attribute='a') }}{{ ['B', 'a'] | sort(case_sensitive=true) }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "[1, 2, 3][{'a': 1}, {'a': 2}]['B', 'a']"},
    {"python", "{{ ['a', 'A'] | unique | list }}{{ ['a', 'A'] | unique(case_sensitive=true) | list }}{{ ['b', 'A'] | min }}{{ ['b', 'A'] | max }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "['a']['a', 'A']Ab"},
    {"python", "{{ 'x' if msgs else 'y' }}{{ 'x' if [] else 'y' }}{{ 'x' if {} else 'y' }}{{ 'x' if 0.0 else 'y' }}{{ 'x' if ' ' else 'y' }}",
     "{\"msgs\": [{\"role\": \"system\", \"content\": \"  Sys  \"}, {\"role\": \"user\", \"content\": \"Hello there\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"function\": {\"name\": \"get\", \"arguments\": \"{\\\"a\\\": 1}\"}}]}], \"tools\": [{\"type\": \"function\", \"function\": {\"name\": \"get_weather\", \"parameters\": {\"type\": \"object\", \"properties\": {\"z\": {\"type\": \"number\", \"minimum\": 0.5}, \"a\": {\"type\": \"string\"}}, \"required\": [\"a\"]}}}], \"d\": {\"b\": 2, \"a\": 1, \"c\": 3}, \"n\": null, \"x\": 5, \"u8\": \"\xe6""\x97""\xa5""\xe6""\x9c""\xac""\xe8""\xaa""\x9e""\xe3""\x83""\x86""\xe3""\x82""\xad""\xe3""\x82""\xb9""\xe3""\x83""\x88""\"}",
     "xyyyx"},
    {"python", "{{ 'ab'.center(5,'*') }}{{ 'ab'.center(6,'*') }}{{ 'abc'.center(6,'*') }}{{ 'abc'.center(5) }}{{ '-42'.zfill(6) }}{{ 'x'.ljust(3, '.') }}{{ 'x'.rjust(3) }}",
     NULL,
     "**ab***ab***abc** abc -00042x..  x"},
    {"python", "{{ '%(a)s-%(b)d' % {'a': 'x', 'b': 2} }}{{ '%5.1f|%-5d|%+d|%e' % (3.14159, 42, 5, 12345.678) }}{{ '%c' % 65 }}{{ '%r' % 'q' }}{{ '%10s|' % 'hi' }}",
     NULL,
     "x-2  3.1|42   |+5|1.234568e+04A'q'        hi|"},
    {"python", "{{ 'a' is eq('a') }}{% for x in [1,2] %}{% endfor %}",
     NULL,
     "True"},
    {"scope", "{% set x = 1 %}{% for i in l %}{{ x }}{% set x = i + 10 %}{{ x }};{% endfor %}{{ x }}",
     "{\"l\": [1, 2]}",
     "111;112;1"},
    {"scope", "{% for i in l %}{{ y }}{% set y = i %}{{ y }};{% endfor %}",
     "{\"l\": [1, 2]}",
     "1;2;"},
    {"scope", "{% macro m() %}{{ late }}{% endmacro %}{% set late = 'L' %}{{ m() }}",
     "{\"l\": [1, 2]}",
     "L"},
    {"scope", "{% macro m() %}{{ late }}{% endmacro %}{{ m() }}{% set late = 'L' %}{{ m() }}",
     "{\"l\": [1, 2]}",
     "L"},
    {"scope", "{% for i in l %}{% macro m() %}{{ i }}{% endmacro %}{{ m() }}{% endfor %}",
     "{\"l\": [1, 2]}",
     "12"},
    {"scope", "{% macro m() %}{{ i }}{% endmacro %}{% for i in l %}{{ m() }}{% endfor %}",
     "{\"l\": [1, 2]}",
     ""},
    {"scope", "{% set i = 'top' %}{% macro m() %}{{ i }}{% endmacro %}{% for i in l %}{{ m() }}{% endfor %}",
     "{\"l\": [1, 2]}",
     "toptop"},
    {"scope", "{% if true %}{% set a = 1 %}{% endif %}{% for i in l %}{% if true %}{% set a = a + i %}{% endif %}{{ a }}{% endfor %}{{ a }}",
     "{\"l\": [1, 2]}",
     "231"},
    {"scope", "{% for i in l %}{% for j in l %}{% set k = i * j %}{% endfor %}{{ k }}{% endfor %}",
     "{\"l\": [1, 2]}",
     ""},
    {"scope", "{% set ns = namespace(v=[]) %}{% macro add(x) %}{% set ns.v = ns.v + [x] %}{% endmacro %}{{ add(1) }}{{ add(2) }}{{ ns.v }}",
     "{\"l\": [1, 2]}",
     "[1, 2]"},
    {"scope", "{% macro m(a) %}{% set a = a ~ '!' %}{{ a }}{% endmacro %}{{ m('x') }}",
     "{\"l\": [1, 2]}",
     "x!"},
    {"scope", "{% macro m() %}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m() }}",
     "{\"l\": [1, 2]}",
     "(){}"},
    {"scope", "{% macro m(a) %}{{ a }}{{ varargs }}{% endmacro %}{{ m(1, 2, 3) }}",
     "{\"l\": [1, 2]}",
     "1(2, 3)"},
    {"scope", "{% macro m(a) %}{{ a }}{{ kwargs }}{% endmacro %}{{ m(1, b=2) }}",
     "{\"l\": [1, 2]}",
     "1{'b': 2}"},
    {"scope", "{% set loop_messages = l %}{% for message in loop_messages %}{% if loop.index0 == 0 %}{% set content = 'first' %}{% else %}{% set content = message %}{% endif %}{{ content }}{% endfor %}{{ content }}",
     "{\"l\": [1, 2]}",
     "first2"},
    {"scope", "{{ m }}{% macro m() %}x{% endmacro %}",
     "{\"l\": [1, 2]}",
     ""},
    {"scope", "{% set x %}a{% endset %}{% for i in l %}{% set x %}{{ x }}{{ i }}{% endset %}{{ x }}{% endfor %}{{ x }}",
     "{\"l\": [1, 2]}",
     "a1a2a"},
    {"scope", "{% for i in l %}{{ loop.index }}{% for j in l %}{{ loop.index }}{% endfor %}{{ loop.index }}{% endfor %}",
     "{\"l\": [1, 2]}",
     "11212122"},
    {"scope", "{% set l2 = l %}{% for x in l2 %}{% set l2 = [9] %}{{ x }}{% endfor %}{{ l2 }}",
     "{\"l\": [1, 2]}",
     "12[1, 2]"},
    {"scope", "{% for i in l %}{% macro r(n) %}{% if n > 0 %}{{ i }}{{ r(n - 1) }}{% endif %}{% endmacro %}{{ r(2) }}{% endfor %}",
     "{\"l\": [1, 2]}",
     "1122"},
    {"scope", "{% macro m(a, b=1) %}{{ a }}{{ b }}{{ varargs }}{{ kwargs }}{% endmacro %}{{ m(1, 2, 3, c=4) }}{{ m(1) }}{{ m(a=1, b=3, z=9) }}",
     "{\"l\": [1, 2]}",
     "12(3,){'c': 4}11(){}13(){'z': 9}"},
    {"scope", "{% macro outer() %}{% set v = 'V' %}{% macro inner() %}{{ v }}{% endmacro %}{{ inner() }}{% endmacro %}{{ outer() }}",
     "{\"l\": [1, 2]}",
     "V"},
    {"case", "{{ s|upper }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld \xc3""\x89""T\xc3""\x89"" \xc3""\x9f""tra\xc3""\x9f""e \xc3""\xbf"" \xc5""\xb8"" \xc4""\x80"" \xc4""\x81"" \xc4""\xb9"" \xc4""\xba"" \xc5""\xb9"" \xc5""\xba"" \xc4""\xb1"" \xc5""\xbf"" \xc2""\xb5"" \xce""\x91""\xce""\x92""\xce""\x93"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xcf""\x82"" \xce""\xac""\xce""\xad"" \xce""\x8f"" \xd0""\x94""\xd0""\x9e""\xd0""\x9c"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd0""\x81""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""abc x-y(z [w <v it's 1a\"}",
     "H\xc3""\x89""LLO W\xc3""\x96""RLD \xc3""\x89""T\xc3""\x89"" SSTRASSE \xc5""\xb8"" \xc5""\xb8"" \xc4""\x80"" \xc4""\x80"" \xc4""\xb9"" \xc4""\xb9"" \xc5""\xb9"" \xc5""\xb9"" I S \xce""\x9c"" \xce""\x91""\xce""\x92""\xce""\x93"" \xce""\x91""\xce""\x92""\xce""\x93"" \xce""\xa3"" \xce""\x86""\xce""\x88"" \xce""\x8f"" \xd0""\x94""\xd0""\x9e""\xd0""\x9c"" \xd0""\x94""\xd0""\x9e""\xd0""\x9c"" \xd0""\x81""\xd0""\x81"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""ABC X-Y(Z [W <V IT'S 1A"},
    {"case", "{{ s|lower }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld \xc3""\x89""T\xc3""\x89"" \xc3""\x9f""tra\xc3""\x9f""e \xc3""\xbf"" \xc5""\xb8"" \xc4""\x80"" \xc4""\x81"" \xc4""\xb9"" \xc4""\xba"" \xc5""\xb9"" \xc5""\xba"" \xc4""\xb1"" \xc5""\xbf"" \xc2""\xb5"" \xce""\x91""\xce""\x92""\xce""\x93"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xcf""\x82"" \xce""\xac""\xce""\xad"" \xce""\x8f"" \xd0""\x94""\xd0""\x9e""\xd0""\x9c"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd0""\x81""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""abc x-y(z [w <v it's 1a\"}",
     "h\xc3""\xa9""llo w\xc3""\xb6""rld \xc3""\xa9""t\xc3""\xa9"" \xc3""\x9f""tra\xc3""\x9f""e \xc3""\xbf"" \xc3""\xbf"" \xc4""\x81"" \xc4""\x81"" \xc4""\xba"" \xc4""\xba"" \xc5""\xba"" \xc5""\xba"" \xc4""\xb1"" \xc5""\xbf"" \xc2""\xb5"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xcf""\x82"" \xce""\xac""\xce""\xad"" \xcf""\x8e"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd1""\x91""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""abc x-y(z [w <v it's 1a"},
    {"case", "{{ s|title }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld \xc3""\x89""T\xc3""\x89"" \xc3""\x9f""tra\xc3""\x9f""e \xc3""\xbf"" \xc5""\xb8"" \xc4""\x80"" \xc4""\x81"" \xc4""\xb9"" \xc4""\xba"" \xc5""\xb9"" \xc5""\xba"" \xc4""\xb1"" \xc5""\xbf"" \xc2""\xb5"" \xce""\x91""\xce""\x92""\xce""\x93"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xcf""\x82"" \xce""\xac""\xce""\xad"" \xce""\x8f"" \xd0""\x94""\xd0""\x9e""\xd0""\x9c"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd0""\x81""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""abc x-y(z [w <v it's 1a\"}",
     "H\xc3""\xa9""llo W\xc3""\xb6""rld \xc3""\x89""t\xc3""\xa9"" SStra\xc3""\x9f""e \xc5""\xb8"" \xc5""\xb8"" \xc4""\x80"" \xc4""\x80"" \xc4""\xb9"" \xc4""\xb9"" \xc5""\xb9"" \xc5""\xb9"" I S \xce""\x9c"" \xce""\x91""\xce""\xb2""\xce""\xb3"" \xce""\x91""\xce""\xb2""\xce""\xb3"" \xce""\xa3"" \xce""\x86""\xce""\xad"" \xce""\x8f"" \xd0""\x94""\xd0""\xbe""\xd0""\xbc"" \xd0""\x94""\xd0""\xbe""\xd0""\xbc"" \xd0""\x81""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""abc X-Y(Z [W <V It's 1a"},
    {"case", "{{ s|capitalize }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld \xc3""\x89""T\xc3""\x89"" \xc3""\x9f""tra\xc3""\x9f""e \xc3""\xbf"" \xc5""\xb8"" \xc4""\x80"" \xc4""\x81"" \xc4""\xb9"" \xc4""\xba"" \xc5""\xb9"" \xc5""\xba"" \xc4""\xb1"" \xc5""\xbf"" \xc2""\xb5"" \xce""\x91""\xce""\x92""\xce""\x93"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xcf""\x82"" \xce""\xac""\xce""\xad"" \xce""\x8f"" \xd0""\x94""\xd0""\x9e""\xd0""\x9c"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd0""\x81""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""abc x-y(z [w <v it's 1a\"}",
     "H\xc3""\xa9""llo w\xc3""\xb6""rld \xc3""\xa9""t\xc3""\xa9"" \xc3""\x9f""tra\xc3""\x9f""e \xc3""\xbf"" \xc3""\xbf"" \xc4""\x81"" \xc4""\x81"" \xc4""\xba"" \xc4""\xba"" \xc5""\xba"" \xc5""\xba"" \xc4""\xb1"" \xc5""\xbf"" \xc2""\xb5"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xcf""\x82"" \xce""\xac""\xce""\xad"" \xcf""\x8e"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd1""\x91""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""abc x-y(z [w <v it's 1a"},
    {"case", "{{ s.upper() }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld \xc3""\x89""T\xc3""\x89"" \xc3""\x9f""tra\xc3""\x9f""e \xc3""\xbf"" \xc5""\xb8"" \xc4""\x80"" \xc4""\x81"" \xc4""\xb9"" \xc4""\xba"" \xc5""\xb9"" \xc5""\xba"" \xc4""\xb1"" \xc5""\xbf"" \xc2""\xb5"" \xce""\x91""\xce""\x92""\xce""\x93"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xcf""\x82"" \xce""\xac""\xce""\xad"" \xce""\x8f"" \xd0""\x94""\xd0""\x9e""\xd0""\x9c"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd0""\x81""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""abc x-y(z [w <v it's 1a\"}",
     "H\xc3""\x89""LLO W\xc3""\x96""RLD \xc3""\x89""T\xc3""\x89"" SSTRASSE \xc5""\xb8"" \xc5""\xb8"" \xc4""\x80"" \xc4""\x80"" \xc4""\xb9"" \xc4""\xb9"" \xc5""\xb9"" \xc5""\xb9"" I S \xce""\x9c"" \xce""\x91""\xce""\x92""\xce""\x93"" \xce""\x91""\xce""\x92""\xce""\x93"" \xce""\xa3"" \xce""\x86""\xce""\x88"" \xce""\x8f"" \xd0""\x94""\xd0""\x9e""\xd0""\x9c"" \xd0""\x94""\xd0""\x9e""\xd0""\x9c"" \xd0""\x81""\xd0""\x81"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""ABC X-Y(Z [W <V IT'S 1A"},
    {"case", "{{ s.lower() }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld \xc3""\x89""T\xc3""\x89"" \xc3""\x9f""tra\xc3""\x9f""e \xc3""\xbf"" \xc5""\xb8"" \xc4""\x80"" \xc4""\x81"" \xc4""\xb9"" \xc4""\xba"" \xc5""\xb9"" \xc5""\xba"" \xc4""\xb1"" \xc5""\xbf"" \xc2""\xb5"" \xce""\x91""\xce""\x92""\xce""\x93"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xcf""\x82"" \xce""\xac""\xce""\xad"" \xce""\x8f"" \xd0""\x94""\xd0""\x9e""\xd0""\x9c"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd0""\x81""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""abc x-y(z [w <v it's 1a\"}",
     "h\xc3""\xa9""llo w\xc3""\xb6""rld \xc3""\xa9""t\xc3""\xa9"" \xc3""\x9f""tra\xc3""\x9f""e \xc3""\xbf"" \xc3""\xbf"" \xc4""\x81"" \xc4""\x81"" \xc4""\xba"" \xc4""\xba"" \xc5""\xba"" \xc5""\xba"" \xc4""\xb1"" \xc5""\xbf"" \xc2""\xb5"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xcf""\x82"" \xce""\xac""\xce""\xad"" \xcf""\x8e"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd1""\x91""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""abc x-y(z [w <v it's 1a"},
    {"case", "{{ s.title() }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld \xc3""\x89""T\xc3""\x89"" \xc3""\x9f""tra\xc3""\x9f""e \xc3""\xbf"" \xc5""\xb8"" \xc4""\x80"" \xc4""\x81"" \xc4""\xb9"" \xc4""\xba"" \xc5""\xb9"" \xc5""\xba"" \xc4""\xb1"" \xc5""\xbf"" \xc2""\xb5"" \xce""\x91""\xce""\x92""\xce""\x93"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xcf""\x82"" \xce""\xac""\xce""\xad"" \xce""\x8f"" \xd0""\x94""\xd0""\x9e""\xd0""\x9c"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd0""\x81""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""abc x-y(z [w <v it's 1a\"}",
     "H\xc3""\xa9""llo W\xc3""\xb6""rld \xc3""\x89""t\xc3""\xa9"" Sstra\xc3""\x9f""e \xc5""\xb8"" \xc5""\xb8"" \xc4""\x80"" \xc4""\x80"" \xc4""\xb9"" \xc4""\xb9"" \xc5""\xb9"" \xc5""\xb9"" I S \xce""\x9c"" \xce""\x91""\xce""\xb2""\xce""\xb3"" \xce""\x91""\xce""\xb2""\xce""\xb3"" \xce""\xa3"" \xce""\x86""\xce""\xad"" \xce""\x8f"" \xd0""\x94""\xd0""\xbe""\xd0""\xbc"" \xd0""\x94""\xd0""\xbe""\xd0""\xbc"" \xd0""\x81""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""Abc X-Y(Z [W <V It'S 1A"},
    {"case", "{{ s.capitalize() }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld \xc3""\x89""T\xc3""\x89"" \xc3""\x9f""tra\xc3""\x9f""e \xc3""\xbf"" \xc5""\xb8"" \xc4""\x80"" \xc4""\x81"" \xc4""\xb9"" \xc4""\xba"" \xc5""\xb9"" \xc5""\xba"" \xc4""\xb1"" \xc5""\xbf"" \xc2""\xb5"" \xce""\x91""\xce""\x92""\xce""\x93"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xcf""\x82"" \xce""\xac""\xce""\xad"" \xce""\x8f"" \xd0""\x94""\xd0""\x9e""\xd0""\x9c"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd0""\x81""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""abc x-y(z [w <v it's 1a\"}",
     "H\xc3""\xa9""llo w\xc3""\xb6""rld \xc3""\xa9""t\xc3""\xa9"" \xc3""\x9f""tra\xc3""\x9f""e \xc3""\xbf"" \xc3""\xbf"" \xc4""\x81"" \xc4""\x81"" \xc4""\xba"" \xc4""\xba"" \xc5""\xba"" \xc5""\xba"" \xc4""\xb1"" \xc5""\xbf"" \xc2""\xb5"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xcf""\x82"" \xce""\xac""\xce""\xad"" \xcf""\x8e"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd1""\x91""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""abc x-y(z [w <v it's 1a"},
    {"case", "{{ s.swapcase() }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld \xc3""\x89""T\xc3""\x89"" \xc3""\x9f""tra\xc3""\x9f""e \xc3""\xbf"" \xc5""\xb8"" \xc4""\x80"" \xc4""\x81"" \xc4""\xb9"" \xc4""\xba"" \xc5""\xb9"" \xc5""\xba"" \xc4""\xb1"" \xc5""\xbf"" \xc2""\xb5"" \xce""\x91""\xce""\x92""\xce""\x93"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xcf""\x82"" \xce""\xac""\xce""\xad"" \xce""\x8f"" \xd0""\x94""\xd0""\x9e""\xd0""\x9c"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd0""\x81""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""abc x-y(z [w <v it's 1a\"}",
     "H\xc3""\x89""LLO W\xc3""\x96""RLD \xc3""\xa9""t\xc3""\xa9"" SSTRASSE \xc5""\xb8"" \xc3""\xbf"" \xc4""\x81"" \xc4""\x80"" \xc4""\xba"" \xc4""\xb9"" \xc5""\xba"" \xc5""\xb9"" I S \xce""\x9c"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xce""\x91""\xce""\x92""\xce""\x93"" \xce""\xa3"" \xce""\x86""\xce""\x88"" \xcf""\x8e"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd0""\x94""\xd0""\x9e""\xd0""\x9c"" \xd1""\x91""\xd0""\x81"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""ABC X-Y(Z [W <V IT'S 1A"},
    {"case", "{{ ['\xc3""\xa9""', 'E', 'd', '\xc3""\x89""']|sort }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld \xc3""\x89""T\xc3""\x89"" \xc3""\x9f""tra\xc3""\x9f""e \xc3""\xbf"" \xc5""\xb8"" \xc4""\x80"" \xc4""\x81"" \xc4""\xb9"" \xc4""\xba"" \xc5""\xb9"" \xc5""\xba"" \xc4""\xb1"" \xc5""\xbf"" \xc2""\xb5"" \xce""\x91""\xce""\x92""\xce""\x93"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xcf""\x82"" \xce""\xac""\xce""\xad"" \xce""\x8f"" \xd0""\x94""\xd0""\x9e""\xd0""\x9c"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd0""\x81""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""abc x-y(z [w <v it's 1a\"}",
     "['d', 'E', '\xc3""\xa9""', '\xc3""\x89""']"},
    {"case", "{{ ['\xc3""\xa9""', '\xc3""\x89""']|unique|list }}",
     "{\"s\": \"h\xc3""\xa9""llo w\xc3""\xb6""rld \xc3""\x89""T\xc3""\x89"" \xc3""\x9f""tra\xc3""\x9f""e \xc3""\xbf"" \xc5""\xb8"" \xc4""\x80"" \xc4""\x81"" \xc4""\xb9"" \xc4""\xba"" \xc5""\xb9"" \xc5""\xba"" \xc4""\xb1"" \xc5""\xbf"" \xc2""\xb5"" \xce""\x91""\xce""\x92""\xce""\x93"" \xce""\xb1""\xce""\xb2""\xce""\xb3"" \xcf""\x82"" \xce""\xac""\xce""\xad"" \xce""\x8f"" \xd0""\x94""\xd0""\x9e""\xd0""\x9c"" \xd0""\xb4""\xd0""\xbe""\xd0""\xbc"" \xd0""\x81""\xd1""\x91"" \xe6""\x97""\xa5""\xe6""\x9c""\xac""abc x-y(z [w <v it's 1a\"}",
     "['\xc3""\xa9""']"},
    {"python", "{{ not ((-3 in [1, 2, 3]))|map('string')|list }}{{ none|select|list }}{{ 0|reject|list }}",
     "{\"n\": 7, \"s\": \"H\xc3""\xa9""llo\", \"l\": [3, 1, 2], \"d\": {\"a\": 1, \"b\": [2]}, \"msgs\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
     "True[][]"},
    {"python", "{{ ([])|wordcount }}{{ 'a-b c_d, \xc3""\xa9""!'|wordcount }}{{ (2.5 is odd) }}{{ 3.0 is odd }}{{ 0.0 is even }}",
     "{\"n\": 7, \"s\": \"H\xc3""\xa9""llo\", \"l\": [3, 1, 2], \"d\": {\"a\": 1, \"b\": [2]}, \"msgs\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
     "04FalseTrueTrue"},
    {"python", "{{ (1, 'x') in {'a': 1} }}{{ '' % [1] }}{{ '%s' % [1] }}{{ '%(a)s' % d }}",
     "{\"n\": 7, \"s\": \"H\xc3""\xa9""llo\", \"l\": [3, 1, 2], \"d\": {\"a\": 1, \"b\": [2]}, \"msgs\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
     "False[1]1"},
    {"for", "{% set ns = namespace(v='') %}{% for m in s if not ns.v %}x{% set ns.v = m %}{% endfor %}{{ ns.v }}",
     "{\"l\": [1, 2, 3, 4], \"s\": \"abcd\"}",
     "xa"},
    {"for", "{% set ns = namespace(v=0) %}{% for m in l if m > ns.v %}{{ m }}{{ loop.last }}{% set ns.v = m + 1 %}{% endfor %}",
     "{\"l\": [1, 2, 3, 4], \"s\": \"abcd\"}",
     "1False2False3False4True"},
    {"for", "{% set ns = namespace(v=0) %}{% for m in l if m > ns.v %}{{ m }}{{ loop.length }}{% set ns.v = m + 1 %}{% endfor %}",
     "{\"l\": [1, 2, 3, 4], \"s\": \"abcd\"}",
     "14243444"},
    {"for", "{% set ns = namespace(v=0) %}{% for m in l if m > ns.v %}{{ m }}{{ loop.nextitem }}{% set ns.v = m + 1 %}{% endfor %}",
     "{\"l\": [1, 2, 3, 4], \"s\": \"abcd\"}",
     "1223344"},
    {"for", "{% for m in l if m is odd %}{{ loop.index }}{{ loop.revindex }}{{ loop.first }}{{ loop.last }}{{ loop.previtem }}{% else %}none{% endfor %}",
     "{\"l\": [1, 2, 3, 4], \"s\": \"abcd\"}",
     "12TrueFalse21FalseTrue1"},
    {"for", "{% for m in l if m > 9 %}x{% else %}none{% endfor %}{% for m in l if m > 1 %}{% if m == 3 %}{% break %}{% endif %}{{ m }}{% endfor %}",
     "{\"l\": [1, 2, 3, 4], \"s\": \"abcd\"}",
     "none2"},
    {"for", "{% set ns = namespace(k=none) %}{% for m in l if m > 1 %}{% set ns.k = loop %}{% endfor %}{{ ns.k.index }}",
     "{\"l\": [1, 2, 3, 4], \"s\": \"abcd\"}",
     "3"},
    {"op", "{{ (1, 'x') * 2 }}{{ (1,) * 0 }}{{ [1] * -1 }}{{ 'ab' * 0 }}{{ 2 * (3,) }}",
     "{\"l\": [1, 2]}",
     "(1, 'x', 1, 'x')()[](3, 3)"},
    {"python", "{{ [u, u]|sort }}{{ [u]|string }}{{ l|map(attribute='role')|list }}{{ 'True'|sort(attribute='role') }}",
     "{\"s\": \"H\xc3""\xa9""llo\", \"l\": [3, 1, 2], \"msgs\": [{\"role\": \"user\", \"content\": \"hi\"}]}",
     "[Undefined, Undefined][Undefined][Undefined, Undefined, Undefined]['T', 'r', 'u', 'e']"},
    {"ws", "  \n\n  x\n  ",
     NULL,
     "  \n\n  x\n  "},
    {"ws", "a{#+ c +#}",
     NULL,
     "a"},
    {"ws", "\n  \n\n",
     NULL,
     "\n  \n"},
    {"ws", "{{ 1 }}{{+ 'x' -}}{%+ set x = 1 %}",
     NULL,
     "1x"},
    {"ws", "{% if true +%}{% endif %}  {%+ set x = 1 %}",
     NULL,
     "  "},
    {"ws", "{%- for i in [1, 2] +%}{% if true -%}{#- c #}{%- endif %}{%+ endfor +%}\r\n{{+'\\n'}}",
     NULL,
     "\n\n"},
    {"ws", "{%- for i in [1, 2] +%} \t\n\t {#- c -#}\r\n{% endfor +%}\r\n{%+ set x = 1 +%}",
     NULL,
     "\n"},
    {"ws", "{{ '' }} \t\n\t ",
     NULL,
     " \t\n\t "},
    {"ws", "{{- 'x' }}{%- set x = 1 %}{#\n-#}{{- 'x' }}{%+ set x = 1 +%}",
     NULL,
     "xx"},
    {"ws", "  b {#\n#}",
     NULL,
     "  b "},
    {"ws", "{% if true %}{%+ endif +%}\n   \n \n   b x\n  ",
     NULL,
     "\n   \n \n   b x\n  "},
    {"ws", "{{ '' }}{% for i in [1, 2] %}{% if true %} b {# c #}{% endif +%}{{ 'x' -}}\n  {%- endfor +%}\r\n{#\n#}{#\n-#}",
     NULL,
     " b x b x\n"},
    {"print", "{{ '\\u00e9\\x41\\101\\q\\t|' }}{{ 'it\\'s' }}{{ 1_000 }}{{ 1.5e3 }}{{ 1e3 }}",
     NULL,
     "\xc3""\xa9""AA\\q\t|it's10001500.01000.0"},
    {"print", "{{ 'a' 'b' \"c\" }}{{ 0x10 if false else 1 }}",
     NULL,
     "abc1"},
    {"print", "{% raw %}{{ x }}{%- endraw %}{%- raw -%}  {% if %}  {%- endraw -%}  y",
     NULL,
     "{{ x }}{% if %}y"},
    {"print", "{{ -0.0 }}{{ 1e-7 }}{{ 123456789.0 }}{{ 1.1 * 3 }}{{ 2 ** 0.5 }}",
     NULL,
     "-0.01e-07123456789.03.30000000000000031.4142135623730951"},
    {"print", "{{ 9007199254740993 }}{{ 9223372036854775807 }}{{ -9223372036854775807 - 1 }}",
     NULL,
     "90071992547409939223372036854775807-9223372036854775808"},
    {"print", "{{ '\\u2028' | tojson }}{{ '\\ud83d' if false else 'ok' }}",
     NULL,
     "\"\xe2""\x80""\xa8""\"ok"},
    {"print", "{{ 0x10 }}{{ 0o17 }}{{ 0b101 }}{{ 0xFF_FF }}{{ 0 }}{{ 00 }}{{ 0.5 }}",
     NULL,
     "1615565535000.5"},
};

/* Renders tmpl with vars (a JSON object or NULL) and a fixed date; *rc gets the status. */
static char *render_lim(const char *tmpl, const char *vars, const pv_jinja_limits *lim, int *rc, pv_error *err) {
  pv_jinja *t = NULL;
  char *out = NULL;
  size_t len = 0;
  memset(err, 0, sizeof *err);
  *rc = pv_jinja_parse(&t, tmpl, strlen(tmpl), err);
  if (*rc) return NULL;
  const char *texts[1] = {vars};
  size_t lens[1] = {vars ? strlen(vars) : 0};
  pv_jinja_render_opts o = {.vars_json = texts, .vars_len = lens, .n_vars = 1, .year = 2026, .month = 12, .day = 7,
                            .limits = lim};
  *rc = pv_jinja_render(t, &o, &out, &len, err);
  if (!*rc) assert_int_equal(strlen(out), len);
  pv_jinja_free(t);
  return out;
}

static char *render(const char *tmpl, const char *vars, int *rc, pv_error *err) {
  return render_lim(tmpl, vars, NULL, rc, err);
}

static void run_group(const char *group) {
  int n = 0;
  for (size_t i = 0; i < PV_ARRAY_LEN(CASES); i++) {
    if (strcmp(CASES[i].group, group)) continue;
    int rc;
    pv_error err;
    char *out = render(CASES[i].tmpl, CASES[i].vars, &rc, &err);
    if (rc) fail_msg("%s: %s", CASES[i].tmpl, err.msg);
    if (strcmp(out, CASES[i].want)) fail_msg("%s\n got: [%s]\nwant: [%s]", CASES[i].tmpl, out, CASES[i].want);
    free(out);
    n++;
  }
  assert_true(n > 0);
}

static void test_whitespace(void **s) { (void)s; run_group("ws"); }
static void test_printing(void **s) { (void)s; run_group("print"); }
static void test_operators(void **s) { (void)s; run_group("op"); }
static void test_indexing(void **s) { (void)s; run_group("index"); }
static void test_for(void **s) { (void)s; run_group("for"); }
static void test_set_scoping(void **s) { (void)s; run_group("set"); }
static void test_macros(void **s) { (void)s; run_group("macro"); }
static void test_if(void **s) { (void)s; run_group("if"); }
static void test_tests(void **s) { (void)s; run_group("test"); }
static void test_filters(void **s) { (void)s; run_group("filter"); }
static void test_tojson(void **s) { (void)s; run_group("tojson"); }
static void test_methods(void **s) { (void)s; run_group("method"); }
static void test_globals(void **s) { (void)s; run_group("global"); }
static void test_python_semantics(void **s) { (void)s; run_group("python"); }
static void test_scoping_closures(void **s) { (void)s; run_group("scope"); }
static void test_unicode_case(void **s) { (void)s; run_group("case"); }

/* ---- errors ---- */

typedef struct jerr {
  const char *tmpl;
  int code;
  const char *want; /* a part of the message */
} jerr;

static const jerr ERRORS[] = {
    {"line one\n{% for %}", PAGEDVK_ERR_FORMAT, "line 2:"},
    {"{{ 1 + }}", PAGEDVK_ERR_FORMAT, "line 1:"},
    {"{% if true %}x", PAGEDVK_ERR_FORMAT, "unexpected end of template"},
    {"{% frobnicate %}", PAGEDVK_ERR_FORMAT, "unknown tag 'frobnicate'"},
    {"{{ 'unterminated }}", PAGEDVK_ERR_FORMAT, "unterminated string"},
    {"{# open comment", PAGEDVK_ERR_FORMAT, "unterminated comment"},
    {"{{ x", PAGEDVK_ERR_FORMAT, "not closed"},
    {"a\nb\n{{ x.y }}", PAGEDVK_ERR_INVALID, "line 3: 'x' is undefined"},
    {"{{ 'a' + 1 }}", PAGEDVK_ERR_INVALID, "unsupported operand"},
    {"{{ 'x' ~ 1 + 2 }}", PAGEDVK_ERR_INVALID, "unsupported operand"},
    {"{{ x is defined if true else 1 }}", PAGEDVK_ERR_FORMAT, "line 1:"},
    {"{{ x is defined is string }}", PAGEDVK_ERR_FORMAT, "cannot chain"},
    {"{{ '%d' % 'a' }}", PAGEDVK_ERR_INVALID, "real number is required"},
    {"{% for x in none %}{% endfor %}", PAGEDVK_ERR_INVALID, "not iterable"},
    {"{{ '' % 'x' }}", PAGEDVK_ERR_INVALID, "not all arguments converted"},
    {"{{ '%s' % (1, 2) }}", PAGEDVK_ERR_INVALID, "not all arguments converted"},
    {"{{ [1] in {} }}", PAGEDVK_ERR_INVALID, "unhashable type: 'list'"},
    {"{{ [{}, {}]|unique|list }}", PAGEDVK_ERR_INVALID, "unhashable type: 'dict'"},
    {"{{ u|int }}", PAGEDVK_ERR_INVALID, "'u' is undefined"},
    {"{{ 0 ** -1 }}", PAGEDVK_ERR_INVALID, "negative power"},
    {"{{ u < 1 }}", PAGEDVK_ERR_INVALID, "'u' is undefined"},
    {"{{ (1, 2) < [1, 2] }}", PAGEDVK_ERR_INVALID, "not supported"},
    {"{{ [1]|indent }}", PAGEDVK_ERR_INVALID, "indent: expected a string"},
    {"{{ 1 +}}", PAGEDVK_ERR_FORMAT, "line 1:"},
    {"{{ 10 ** 20 }}", PAGEDVK_ERR_INVALID, "integer overflow"},
    {"{{ [1].append(2) }}", PAGEDVK_ERR_INVALID, "unsafe"},
    {"{{ {}.update({}) }}", PAGEDVK_ERR_INVALID, "unsafe"},
    {"{{ raise_exception('Only user and assistant roles are supported!') }}", PAGEDVK_ERR_INVALID,
     "Only user and assistant roles are supported!"},
    {"{{ 1 // 0 }}", PAGEDVK_ERR_INVALID, "by zero"},
    {"{{ 1 / 0 }}", PAGEDVK_ERR_INVALID, "by zero"},
    {"{{ x|nosuchfilter }}", PAGEDVK_ERR_INVALID, "No filter named 'nosuchfilter'"},
    {"{{ x is nosuchtest }}", PAGEDVK_ERR_INVALID, "No test named 'nosuchtest'"},
    {"{% for a, b in [1] %}{% endfor %}", PAGEDVK_ERR_INVALID, "cannot unpack"},
    {"{% set x = 1 %}{% set x.a = 2 %}", PAGEDVK_ERR_INVALID, "non-namespace"},
    {"{{ none() }}", PAGEDVK_ERR_INVALID, "not callable"},
    {"{{ 1 < 'a' }}", PAGEDVK_ERR_INVALID, "not supported"},
    {"{% for i in range(200000) %}{% endfor %}", PAGEDVK_ERR_INVALID, "Range too big"},
    {"{% macro m(a) %}{% endmacro %}{{ m(1, 2) }}", PAGEDVK_ERR_INVALID, "takes not more than 1"},
    {"{% macro m(a) %}{% endmacro %}{{ m(1, b=2) }}", PAGEDVK_ERR_INVALID, "no keyword argument 'b'"},
    {"{% for i in [1] recursive %}{% endfor %}", PAGEDVK_ERR_FORMAT, "recursive loops are not supported"},
    {"{% break %}", PAGEDVK_ERR_INVALID, "outside a loop"},
};

static void test_errors(void **s) {
  (void)s;
  for (size_t i = 0; i < PV_ARRAY_LEN(ERRORS); i++) {
    int rc;
    pv_error err;
    char *out = render(ERRORS[i].tmpl, NULL, &rc, &err);
    if (rc != ERRORS[i].code) fail_msg("%s: status %d (want %d) %s", ERRORS[i].tmpl, rc, ERRORS[i].code, out ? out : err.msg);
    if (!strstr(err.msg, ERRORS[i].want)) fail_msg("%s: message '%s' lacks '%s'", ERRORS[i].tmpl, err.msg, ERRORS[i].want);
  }
}

/* raise_exception's message comes out as the template wrote it, without a line prefix. */
static void test_raise_verbatim(void **s) {
  (void)s;
  int rc;
  pv_error err;
  render("\n\n{{ raise_exception('exact text') }}", NULL, &rc, &err);
  assert_int_equal(rc, PAGEDVK_ERR_INVALID);
  assert_string_equal(err.msg, "exact text");
}

/* Undefined: prints empty, is false, iterates empty, length 0; only looking into it fails. */
static void test_undefined(void **s) {
  (void)s;
  int rc;
  pv_error err;
  char *out = render("[{{ u }}]{{ u is defined }}{{ not u }}{% for x in u %}x{% endfor %}{{ u|length }}{{ u is iterable }}"
                     "{{ u is none }}{{ u ~ 'a' }}{{ d.missing is defined }}{{ d.missing.deeper is defined }}",
                     "{\"d\": {}}", &rc, &err);
  assert_int_equal(rc, PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(err.msg, "'missing' is undefined"));
  out = render("[{{ u }}]{{ u is defined }}{{ not u }}{% for x in u %}x{% endfor %}{{ u|length }}{{ u is iterable }}"
               "{{ u is none }}{{ u ~ 'a' }}{{ d.missing is defined }}",
               "{\"d\": {}}", &rc, &err);
  assert_int_equal(rc, PAGEDVK_OK);
  assert_string_equal(out, "[]FalseTrue0TrueFalseaFalse");
  free(out);
}

/* JSON variables: int vs float by spelling, key order kept, later objects override earlier. */
static void test_json_vars(void **s) {
  (void)s;
  pv_jinja *t = NULL;
  pv_error err = {0};
  const char *src = "{{ a }} {{ b }} {{ c }} {{ d|tojson }} {{ e }} {{ s }}";
  assert_int_equal(pv_jinja_parse(&t, src, strlen(src), &err), PAGEDVK_OK);
  const char *v1 = "{\"a\": 1, \"b\": 1.0, \"c\": 1e2, \"d\": {\"z\": 1, \"a\": [true, null]}, \"e\": 0}";
  const char *v2 = "{\"e\": \"over\", \"s\": \"\\u00e9\\ud83d\\ude00\\n\"}";
  const char *texts[3] = {v1, NULL, v2};
  size_t lens[3] = {strlen(v1), 0, strlen(v2)};
  pv_jinja_render_opts o = {.vars_json = texts, .vars_len = lens, .n_vars = 3};
  char *out;
  size_t len;
  assert_int_equal(pv_jinja_render(t, &o, &out, &len, &err), PAGEDVK_OK);
  assert_string_equal(out, "1 1.0 100.0 {\"z\": 1, \"a\": [true, null]} over \xc3\xa9\xf0\x9f\x98\x80\n");
  free(out);
  const char *bad = "[1, 2]";
  texts[0] = bad;
  lens[0] = strlen(bad);
  assert_int_equal(pv_jinja_render(t, &o, &out, &len, &err), PAGEDVK_ERR_INVALID);
  const char *broken = "{\"a\": ";
  texts[0] = broken;
  lens[0] = strlen(broken);
  assert_int_equal(pv_jinja_render(t, &o, &out, &len, &err), PAGEDVK_ERR_INVALID);
  pv_jinja_free(t);
}

/* Python's float repr: shortest round trip, ".0" for integral values, exponent past 1e16. */
static void test_float_repr(void **s) {
  (void)s;
  static const struct {
    double v;
    const char *want;
  } F[] = {{21.5, "21.5"},   {0.1, "0.1"},   {1.0 / 3, "0.3333333333333333"}, {1e16, "1e+16"}, {1e15, "1000000000000000.0"},
           {1e-5, "1e-05"},  {1e-4, "0.0001"}, {-0.0, "-0.0"},    {123456789.125, "123456789.125"}, {2.5e-300, "2.5e-300"},
           {1.7976931348623157e308, "1.7976931348623157e+308"}};
  pv_error err = {0};
  jx x;
  jx_init(&x, &err);
  for (size_t i = 0; i < PV_ARRAY_LEN(F); i++) {
    jsb b;
    jsb_init(&b, &x, 1024);
    assert_int_equal(jv_print_float(&b, F[i].v), PAGEDVK_OK);
    assert_string_equal(b.p, F[i].want);
    jsb_free(&b);
  }
  jx_free(&x);
}

/* ---- limits: a hostile template fails with a clear error, fast ---- */

typedef struct hostile {
  const char *tmpl, *want;
} hostile;

static const hostile HOSTILE[] = {
    {"{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}", "limit"},
    {"{% for i in range(100000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", "step limit"},
    {"{% set ns = namespace(x='xx') %}{% for i in range(100) %}{% set ns.x = ns.x ~ ns.x %}{% endfor %}", "limit"},
    {"{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "macro calls nested deeper"},
    {"{% for i in range(100000) %}{{ 'x' * 100000 }}{% endfor %}", "limit"},
    {"{{ 'x' * 10000000000 }}", "memory limit"},
    {"{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}", "limit"},
    /* values nested deeper than the C stack could walk */
    {"{% set ns = namespace(l=[]) %}{% for i in range(50000) %}{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l }}",
     "nested too deeply to print"},
    {"{% set ns = namespace(l=[]) %}{% for i in range(50000) %}{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l|tojson }}",
     "nesting too deep"},
    {"{% set ns = namespace(l=[]) %}{% for i in range(50000) %}{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l < ns.l }}",
     "nested too deeply to compare"},
};

static void test_limits_default(void **s) {
  (void)s;
#ifdef PV_TEST_EMULATED
  /* tens of seconds each under qemu-user: test_limits_each checks every limit at small sizes */
  skip();
#endif
  for (size_t i = 0; i < PV_ARRAY_LEN(HOSTILE); i++) {
    int rc;
    pv_error err;
    double t0 = pv_now();
    char *out = render(HOSTILE[i].tmpl, NULL, &rc, &err);
    double dt = pv_now() - t0;
    free(out);
    if (rc != PAGEDVK_ERR_INVALID) fail_msg("%s: status %d", HOSTILE[i].tmpl, rc);
    if (!strstr(err.msg, HOSTILE[i].want)) fail_msg("%s: '%s' lacks '%s'", HOSTILE[i].tmpl, err.msg, HOSTILE[i].want);
    print_message("%-90s %.2f s: %s\n", HOSTILE[i].tmpl, dt, err.msg);
    /* about a second each in a -O2 build on one core; the bound leaves room for sanitizer builds */
    if (dt > 30.0) fail_msg("%s: %.1f s to fail", HOSTILE[i].tmpl, dt);
  }
}

/* Deep equality of values nested past the walk's bound ends (unequal) instead of overflowing. */
static void test_deep_equality(void **s) {
  (void)s;
  int rc;
  pv_error err;
  char *out = render("{% set ns = namespace(l=[], m=[]) %}{% for i in range(50000) %}{% set ns.l = [ns.l] %}"
                     "{% set ns.m = [ns.m] %}{% endfor %}{{ ns.l == ns.m }}{{ [[1]] == [[1]] }}",
                     NULL, &rc, &err);
  assert_int_equal(rc, PAGEDVK_OK);
  assert_string_equal(out, "FalseTrue");
  free(out);
}

/* Each limit set low is the one that stops a template just past it, and the message names it. */
static void test_limits_each(void **s) {
  (void)s;
  int rc;
  pv_error err;
  pv_jinja_limits steps = {.max_steps = 1000};
  free(render_lim("{% for i in range(2000) %}{% endfor %}", NULL, &steps, &rc, &err));
  assert_int_equal(rc, PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(err.msg, "step limit of 1000"));
  char *ok = render_lim("{% for i in range(100) %}{% endfor %}", NULL, &steps, &rc, &err);
  assert_int_equal(rc, PAGEDVK_OK);
  free(ok);
  pv_jinja_limits out = {.max_output = 100};
  free(render_lim("{% for i in range(101) %}x{% endfor %}", NULL, &out, &rc, &err));
  assert_int_equal(rc, PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(err.msg, "output limit of 100"));
  ok = render_lim("{% for i in range(100) %}x{% endfor %}", NULL, &out, &rc, &err);
  assert_int_equal(rc, PAGEDVK_OK);
  assert_int_equal(strlen(ok), 100);
  free(ok);
  pv_jinja_limits depth = {.max_depth = 10};
  const char *rec = "{% macro f(n) %}{% if n > 0 %}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(N) }}";
  free(render_lim(rec, "{\"N\": 9}", &depth, &rc, &err)); /* 10 calls nested */
  assert_int_equal(rc, PAGEDVK_OK);
  free(render_lim(rec, "{\"N\": 10}", &depth, &rc, &err));
  assert_int_equal(rc, PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(err.msg, "deeper than 10"));
  pv_jinja_limits mem = {.max_memory = 1 << 20};
  free(render_lim("{{ 'x' * 2000000 }}", NULL, &mem, &rc, &err));
  assert_int_equal(rc, PAGEDVK_ERR_INVALID);
  assert_non_null(strstr(err.msg, "memory limit"));
}

/* The parser is bounded too: deep nesting is a syntax error, not a stack overflow. */
static void test_parse_depth(void **s) {
  (void)s;
  size_t n = 5000;
  char *src = malloc(12 * n + 16);
  strcpy(src, "{{ ");
  for (size_t i = 0; i < n; i++) strcat(src, "(");
  strcat(src, "1");
  for (size_t i = 0; i < n; i++) strcat(src, ")");
  strcat(src, " }}");
  pv_jinja *t = NULL;
  pv_error err = {0};
  assert_int_equal(pv_jinja_parse(&t, src, strlen(src), &err), PAGEDVK_ERR_FORMAT);
  assert_non_null(strstr(err.msg, "nested too deeply"));
  strcpy(src, "");
  for (size_t i = 0; i < n; i++) strcat(src, "{% if 1 %}");
  assert_int_equal(pv_jinja_parse(&t, src, strlen(src), &err), PAGEDVK_ERR_FORMAT);
  free(src);
}

/* ---- one parsed template, rendered from several threads at once ---- */

typedef struct job {
  const pv_jinja *t;
  int id, failures;
} job;

static void *render_thread(void *arg) {
  job *j = arg;
  char vars[64], want[256];
  snprintf(vars, sizeof vars, "{\"id\": %d}", j->id);
  snprintf(want, sizeof want, "%d:0,1,2,3,4,;%d", j->id, j->id * 2);
  const char *texts[1] = {vars};
  size_t lens[1] = {strlen(vars)};
  pv_jinja_render_opts o = {.vars_json = texts, .vars_len = lens, .n_vars = 1};
  for (int k = 0; k < 200; k++) {
    char *out;
    size_t len;
    pv_error err = {0};
    if (pv_jinja_render(j->t, &o, &out, &len, &err) || strcmp(out, want)) j->failures++;
    else free(out);
  }
  return NULL;
}

static void test_concurrent_renders(void **s) {
  (void)s;
#ifdef PV_TEST_EMULATED
  /* the cross build's qemu-user never returns from this pthread_create (no syscall after the
   * SIGRTMIN setup; seen 2026-12-07): threads are checked in the native builds */
  skip();
#endif
  const char *src = "{% set ns = namespace(s='') %}{% for i in range(5) %}{% set ns.s = ns.s ~ i ~ ',' %}{% endfor %}"
                    "{{ id }}:{{ ns.s }};{{ id * 2 }}";
  pv_jinja *t = NULL;
  pv_error err = {0};
  assert_int_equal(pv_jinja_parse(&t, src, strlen(src), &err), PAGEDVK_OK);
  pthread_t th[4];
  job jobs[4];
  for (int i = 0; i < 4; i++) {
    jobs[i] = (job){.t = t, .id = i + 1};
    assert_int_equal(pthread_create(&th[i], NULL, render_thread, &jobs[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(jobs[i].failures, 0);
  }
  pv_jinja_free(t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_whitespace),     cmocka_unit_test(test_printing),      cmocka_unit_test(test_operators),
      cmocka_unit_test(test_indexing),       cmocka_unit_test(test_for),           cmocka_unit_test(test_set_scoping),
      cmocka_unit_test(test_macros),         cmocka_unit_test(test_if),            cmocka_unit_test(test_tests),
      cmocka_unit_test(test_filters),        cmocka_unit_test(test_tojson),        cmocka_unit_test(test_methods),
      cmocka_unit_test(test_globals),        cmocka_unit_test(test_python_semantics), cmocka_unit_test(test_scoping_closures),
      cmocka_unit_test(test_unicode_case),
      cmocka_unit_test(test_errors),        cmocka_unit_test(test_raise_verbatim),
      cmocka_unit_test(test_undefined),      cmocka_unit_test(test_json_vars),     cmocka_unit_test(test_float_repr),
      cmocka_unit_test(test_limits_default), cmocka_unit_test(test_limits_each),   cmocka_unit_test(test_parse_depth),
      cmocka_unit_test(test_deep_equality),  cmocka_unit_test(test_concurrent_renders),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
