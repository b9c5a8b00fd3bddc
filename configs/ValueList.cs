using System;

namespace Partition.Configs
{
    /// <summary>
    /// A growable list over an array, for the configuration reader only (the image's core library
    /// has no List&lt;T&gt;). Capacity doubles; callers that know a bound pass it up front.
    /// </summary>
    public sealed class ValueList<T>
    {
        private T[] _items;
        private int _count;

        public ValueList(int capacity = 4)
        {
            _items = new T[capacity < 1 ? 1 : capacity];
        }

        public int Count => _count;

        public T this[int index]
        {
            get
            {
                if ((uint)index >= (uint)_count)
                    return _items[_items.Length]; // out of range: the array's own bounds check reports it
                return _items[index];
            }
        }

        public void Add(T item)
        {
            if (_count == _items.Length)
            {
                var larger = new T[_items.Length * 2];
                for (int i = 0; i < _count; i++)
                    larger[i] = _items[i];
                _items = larger;
            }
            _items[_count++] = item;
        }

        /// <summary>A new array holding exactly the items (an empty list gives an empty array).</summary>
        public T[] ToArray()
        {
            var array = new T[_count];
            for (int i = 0; i < _count; i++)
                array[i] = _items[i];
            return array;
        }
    }
}
